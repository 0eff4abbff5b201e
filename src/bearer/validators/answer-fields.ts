/* Reading the members of an auth service's JSON answer, strictly: ill-typed is not absent. */

/** Parses a JSON answer; undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Scopes from `scope` (space-separated) or `scopes` (array); present but ill-typed is `'invalid'`. */
export function strictScopes(...candidates: unknown[]): string[] | undefined | 'invalid' {
  for (const value of candidates) {
    if (value === undefined || value === null) continue
    if (typeof value === 'string') return value.split(' ').filter((scope) => scope !== '')
    if (Array.isArray(value) && value.every((scope) => typeof scope === 'string')) return [...value]
    return 'invalid'
  }
  return undefined
}

/** Scopes from a `scope` string (RFC 6749 / 7662 / 9068) or a `scopes`/`scp` array. */
export function scopesFrom(...candidates: unknown[]): string[] | undefined {
  for (const value of candidates) {
    if (typeof value === 'string') return value.split(' ').filter((scope) => scope !== '')
    if (Array.isArray(value) && value.every((scope) => typeof scope === 'string')) return [...value]
  }
  return undefined
}

/**
 * A `Date` from an answer's seconds-since-the-epoch member (`exp`, `nbf`): a number or a string
 * of digits; absent is undefined; anything else (`"tomorrow"`, `true`, `NaN`) is `'invalid'`,
 * which callers treat as an answer they cannot read rather than as "no expiry".
 */
export function epochSeconds(value: unknown): Date | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined
  const seconds =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d{1,15}(\.\d{1,9})?$/.test(value)
        ? Number(value)
        : Number.NaN
  if (!Number.isFinite(seconds) || seconds < 0) return 'invalid'
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? 'invalid' : date
}

/** A `Date` from seconds since the epoch (JWT/RFC 7662 `exp`), or from an ISO date string. */
export function dateFrom(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000)
  if (typeof value === 'string' && value !== '') {
    const date = new Date(value)
    if (!Number.isNaN(date.getTime())) return date
  }
  return undefined
}

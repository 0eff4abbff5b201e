/**
 * Normalises an allowed-origin list: origins are compared as `scheme://host[:port]`, lower-cased,
 * without a trailing slash, so `https://App.example.com/` and `https://app.example.com` agree.
 */
export function normaliseOrigins(origins: readonly string[], where: string): ReadonlySet<string> {
  const out = new Set<string>()
  for (const origin of origins) {
    if (typeof origin !== 'string' || origin.length === 0) {
      throw new TypeError(`${where}: origins must be non-empty strings such as "https://app.example.com"`)
    }
    out.add(normaliseOrigin(origin))
  }
  return out
}

export function normaliseOrigin(origin: string): string {
  if (origin === '*') return '*'
  try {
    return new URL(origin).origin.toLowerCase()
  } catch {
    return origin.replace(/\/+$/, '').toLowerCase()
  }
}

/** True when `origin` (the request's `Origin` header, if any) may use the key. */
export function originAllowed(allowed: ReadonlySet<string> | undefined, origin: string | undefined): boolean {
  if (allowed === undefined || allowed.has('*')) return true
  // a list is a promise that only those pages use the key; a caller that names no origin is not one
  if (origin === undefined) return false
  return allowed.has(normaliseOrigin(origin))
}

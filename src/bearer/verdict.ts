import { cannotDecide } from '../core/cannot-decide.js'
import type { KeywardError } from '../core/errors.js'
import type { Verdict } from './token-cache.js'
import type { InactiveReason } from './validators/types.js'

const NAME = 'delegateBearerAuth'

/* What a validator resolved with, checked: anything but a well-formed verdict is "cannot decide". */

const INACTIVE = new Set<InactiveReason>([
  'token_inactive',
  'token_expired',
  'token_revoked',
  'token_malformed',
  'token_signature_invalid',
  'token_claim_invalid',
])

/**
 * Checks what a validator resolved with; anything but a well-formed verdict is "cannot decide".
 * Claims lose every member equal to the token: services echo it, and `req.auth.claims` ends up
 * in logs and responses.
 */
export function checkVerdict(result: unknown, token: string): Verdict {
  const bad = (what: string) =>
    cannotDecide(
      'validator_bad_response',
      `${NAME}: the validator resolved with ${what}; expected { active: true, ... } or { active: false }`,
      { middleware: NAME },
    )
  if (typeof result !== 'object' || result === null)
    return thrown(bad(result === null ? 'null' : typeof result))
  const value = result as Record<string, unknown>
  if (value.active === false) {
    const reason = INACTIVE.has(value.reason as InactiveReason)
      ? (value.reason as InactiveReason)
      : 'token_inactive'
    return { active: false, reason }
  }
  if (value.active !== true) return thrown(bad('an object without a boolean "active"'))
  const { subject, scopes, expiresAt, claims } = value
  if (subject !== undefined && typeof subject !== 'string') return thrown(bad('a non-string "subject"'))
  if (
    scopes !== undefined &&
    !(Array.isArray(scopes) && scopes.every((scope) => typeof scope === 'string'))
  ) {
    return thrown(bad('"scopes" that are not an array of strings'))
  }
  if (expiresAt !== undefined && !(expiresAt instanceof Date && !Number.isNaN(expiresAt.getTime()))) {
    return thrown(bad('an "expiresAt" that is not a valid Date'))
  }
  if (claims !== undefined && (typeof claims !== 'object' || claims === null))
    return thrown(bad('"claims" that are not an object'))
  // "active" for a token whose expiry has passed is a stale answer: the token is not valid
  if (expiresAt instanceof Date && expiresAt.getTime() <= Date.now())
    return { active: false, reason: 'token_expired' }
  const verdict: Verdict = {
    active: true,
    scopes: Object.freeze([...((scopes as string[] | undefined) ?? [])]),
    claims: Object.freeze(withoutToken((claims as Record<string, unknown> | undefined) ?? {}, token, 0)),
  }
  if (subject !== undefined) verdict.subject = subject as string
  if (expiresAt !== undefined) verdict.expiresAt = expiresAt as Date
  return verdict
}

/** A copy of a JSON-like value without the members (and array items) that are or contain the token. */
function withoutToken<T>(value: T, token: string, depth: number): T {
  const isToken = (item: unknown) =>
    typeof item === 'string' && (item === token || (token.length >= 16 && item.includes(token)))
  if (depth > 16 || typeof value !== 'object' || value === null) return value
  if (Array.isArray(value))
    return value.filter((item) => !isToken(item)).map((item) => withoutToken(item, token, depth + 1)) as T
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value
  const out: Record<string, unknown> = {}
  for (const [name, item] of Object.entries(value)) {
    if (!isToken(item)) out[name] = withoutToken(item, token, depth + 1)
  }
  return out as T
}

function thrown(error: KeywardError): never {
  throw error
}

import { extractCredential, type HeaderValue } from '../core/credentials.js'
import type { KeywardReason } from '../core/errors.js'

/** The result of reading `Authorization: Bearer <token>`. */
export type BearerHeader =
  | { ok: true; token: string }
  | { ok: false; code: 'missing_credentials' | 'invalid_request'; reason: KeywardReason }

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/
const SCHEME = /^bearer$/i
// RFC 9110 §11.1: auth-scheme = token
const AUTH_SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * Reads a bearer token from an `Authorization` header value, strictly (RFC 6750 §2.1): the scheme
 * `Bearer` in any case, exactly one space, then token68 characters and nothing else. Anything
 * else present is `invalid_request` with a reason naming what was wrong; an absent or empty
 * header, or one of another scheme (`Basic …`, reason `other_scheme`), is `missing_credentials`.
 */
export function parseAuthorization(raw: HeaderValue): BearerHeader {
  const extracted = extractCredential(raw)
  if (!extracted.ok) return extracted
  const value = extracted.value
  const space = value.indexOf(' ')
  const scheme = space < 0 ? value : value.slice(0, space)
  if (!SCHEME.test(scheme)) {
    // RFC 6750 §3.1: credentials of another scheme (Basic, …) are a request without bearer
    // credentials, not a malformed one; "Bearer" glued to more ("Bearertoken") is malformed
    if (AUTH_SCHEME.test(scheme) && !/^bearer/i.test(scheme))
      return { ok: false, code: 'missing_credentials', reason: 'other_scheme' }
    return { ok: false, code: 'invalid_request', reason: 'bad_scheme' }
  }
  // "Bearer" with no token, two spaces, a tab, a second word: all malformed, none guessed at
  const token = space < 0 ? '' : value.slice(space + 1)
  if (!TOKEN68.test(token)) return { ok: false, code: 'invalid_request', reason: 'token_malformed' }
  return { ok: true, token }
}

/** The RFC 6750 §3 error a bearer challenge can name. */
export type BearerChallengeError = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

/**
 * Builds an RFC 6750 `WWW-Authenticate` value: `Bearer realm="api"`, plus `error` when the
 * request carried a token (a request without one gets no error code, §3.1), plus `scope` when
 * scopes are missing.
 */
export function bearerChallenge(
  realm: string,
  error?: BearerChallengeError,
  scopes?: readonly string[],
): string {
  let value = `Bearer realm="${realm}"`
  if (error !== undefined) value += `, error="${error}"`
  if (scopes !== undefined && scopes.length > 0) value += `, scope="${scopes.join(' ')}"`
  return value
}

/**
 * Validates a `realm` option. Quotes, backslashes and control characters would break the header's
 * quoted-string, so they are refused rather than escaped.
 */
export function realmOption(realm: unknown, owner: string): string {
  if (typeof realm !== 'string' || realm.length === 0 || !/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/.test(realm)) {
    throw new TypeError(
      `${owner}: "realm" must be a non-empty string of printable ASCII without quotes or backslashes; got ${typeof realm === 'string' ? JSON.stringify(realm) : typeof realm}`,
    )
  }
  return realm
}

/** Validates a scope name (RFC 6749 §3.3 scope-token: visible ASCII except `"` and `\`). */
export function isScopeToken(scope: unknown): scope is string {
  return typeof scope === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)
}

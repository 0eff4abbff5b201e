import { ForeignError } from './foreign-error.js'

/**
 * Public error codes: what the client is told. Stable; switch on them.
 * One code per cause (F6), so a 401 never has to be guessed at.
 */
export type KeywardCode =
  | 'missing_credentials'
  | 'invalid_request'
  | 'invalid_credentials'
  | 'invalid_token'
  | 'forbidden_origin'
  | 'insufficient_scope'
  | 'server_misconfigured'
  | 'auth_unavailable'

/**
 * Internal reasons: what the operator is told (events, logs, `err.reason`), never the client.
 * `docs/troubleshooting.md` explains each one.
 */
export type KeywardReason =
  // credential extraction
  | 'no_header'
  | 'header_empty'
  | 'header_repeated'
  | 'header_comma_joined'
  | 'header_control_characters'
  | 'header_non_ascii'
  | 'header_surrounding_whitespace'
  | 'header_too_long'
  // worker keys
  | 'key_match'
  | 'key_mismatch'
  | 'expected_key_empty'
  | 'expected_key_weak'
  | 'key_resolver_failed'
  // widget keys
  | 'no_tenant'
  | 'unknown_tenant'
  | 'key_malformed'
  | 'key_checksum_invalid'
  | 'record_expired'
  | 'record_invalid'
  | 'record_stale_refreshed'
  | 'record_store_failed'
  | 'record_store_timeout'
  | 'hashing_overloaded'
  | 'origin_not_allowed'
  | 'origin_malformed'
  | 'key_prefix_missing'
  // bearer tokens
  | 'bad_scheme'
  | 'token_malformed'
  | 'token_active'
  | 'token_inactive'
  | 'token_expired'
  | 'token_revoked'
  | 'token_signature_invalid'
  | 'token_claim_invalid'
  | 'scope_missing'
  | 'validator_failed'
  | 'validator_timeout'
  | 'validator_bad_response'
  | 'validator_unset'
  | 'validator_url_invalid'
  | 'validator_client_rejected'
  | 'circuit_open'
  | 'stale_if_error'
  | 'validator_rate_limited'
  | 'validator_request_refused'
  | 'other_scheme'
  // composition (anyOf)
  | 'no_credentials'
  // invalidation buses
  | 'invalidation_down'
  | 'invalidation_trigger_missing'
  // anything else
  | 'internal_error'

const TITLES: Record<KeywardCode, string> = {
  missing_credentials: 'Credentials are required',
  invalid_request: 'The credential header is malformed',
  invalid_credentials: 'The credentials are not valid',
  invalid_token: 'The access token is not valid',
  forbidden_origin: 'This origin may not use this key',
  insufficient_scope: 'The access token lacks a required scope',
  server_misconfigured: 'The server is not configured to check credentials',
  auth_unavailable: 'Credentials cannot be checked right now',
}

/** The status each code is answered with (bearer `invalid_request` is 400, see {@link statusFor}). */
const STATUSES: Record<KeywardCode, number> = {
  missing_credentials: 401,
  invalid_request: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  forbidden_origin: 403,
  insufficient_scope: 403,
  server_misconfigured: 500,
  auth_unavailable: 503,
}

/** The HTTP status for a code. Bearer answers a malformed header with 400 (RFC 6750 §3.1). */
export function statusFor(code: KeywardCode, scheme?: 'bearer'): number {
  if (code === 'invalid_request' && scheme === 'bearer') return 400
  return STATUSES[code]
}

/** The short, client-safe title of a code. */
export function titleFor(code: KeywardCode): string {
  return TITLES[code]
}

const BRAND = Symbol.for('keyward.KeywardError')

export interface KeywardErrorInit {
  code: KeywardCode
  reason: KeywardReason
  /** Defaults to the status of `code`. */
  status?: number
  /** Extra response headers: `Retry-After`, `WWW-Authenticate`. */
  headers?: Record<string, string>
  /** Operator-facing text. Never a secret; fingerprints only. */
  message?: string
  /** The middleware that decided. */
  middleware?: string
  /**
   * What caused it. A `KeywardError` is kept as it is; anything else is replaced by a
   * {@link ForeignError} holding only its class name and code, since a foreign error's message
   * or stack may quote a key or token and Express prints the causes of errors it is given.
   */
  cause?: unknown
}

/**
 * A refusal or failure with a public `code` (for the client), an internal `reason` (for the
 * operator), the HTTP `status` and any headers the answer must carry.
 */
export class KeywardError extends Error {
  override readonly name = 'KeywardError'
  readonly status: number
  readonly code: KeywardCode
  readonly reason: KeywardReason
  readonly headers: Readonly<Record<string, string>>
  readonly middleware: string | undefined

  constructor(init: KeywardErrorInit) {
    super(
      init.message ?? `${init.code} (${init.reason})`,
      init.cause === undefined ? undefined : { cause: ownCause(init.cause) },
    )
    this.code = init.code
    this.reason = init.reason
    this.status = init.status ?? statusFor(init.code)
    this.headers = { ...init.headers }
    this.middleware = init.middleware
    Object.defineProperty(this, BRAND, { value: true })
  }

  /** True for any KeywardError, even one from another copy of the package (ESM and CJS side by side). */
  static is(value: unknown): value is KeywardError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
  }
}

function ownCause(cause: unknown): unknown {
  if (KeywardError.is(cause) || cause instanceof ForeignError) return cause
  return new ForeignError(cause)
}

import type { KeywardRequest } from '../../core/request.js'

/** What a validator is given besides the token. */
export interface ValidationContext {
  /**
   * The request that presented the token (the first one, when concurrent requests with the same
   * token share one validation), as it was given: Express's (or Node's) request in the
   * middleware, whatever was passed to `authenticate()` otherwise. Both have `method` and
   * `headers`; only Node's has a `socket`.
   */
  req: KeywardRequest
  /**
   * Aborted when the guard's `timeout` passes or every waiting client has gone away. Pass it on
   * to `fetch`/undici so an abandoned check does not hold a connection.
   */
  signal: AbortSignal
}

/**
 * Why a validator said no. Each is a `reason` in decision events and
 * `docs/troubleshooting.md`; the client only ever sees `invalid_token`.
 */
export type InactiveReason =
  | 'token_inactive'
  | 'token_expired'
  | 'token_revoked'
  | 'token_malformed'
  | 'token_signature_invalid'
  | 'token_claim_invalid'

/** The validator accepted the token. */
export interface ActiveToken {
  active: true
  /** Who the token was issued to or for (`sub`). */
  subject?: string
  /** Granted scopes; `requireScopes()` checks them. */
  scopes?: string[]
  /** When the token stops being valid. Caps how long the answer is cached. */
  expiresAt?: Date
  /** Every claim the validator wants the application to see as `req.auth.claims`. */
  claims?: Record<string, unknown>
}

/** The validator refused the token: the request gets 401 `invalid_token`. */
export interface InactiveToken {
  active: false
  /** Why, for the operator. Default `'token_inactive'`. */
  reason?: InactiveReason
}

/** A validator's verdict. "Cannot decide" is not a verdict: throw instead (503). */
export type TokenResult = ActiveToken | InactiveToken

/**
 * Decides whether a bearer token is valid. Resolve with a {@link TokenResult}; throw (or let the
 * guard's timeout pass) when you cannot decide — the request then gets 503 `auth_unavailable`,
 * never 401, so an outage is never mistaken for a bad token (F5).
 */
export interface TokenValidator {
  (token: string, context: ValidationContext): Promise<TokenResult>
  /**
   * Resolves once the validator can answer (its settings resolve and its service is reachable);
   * rejects with a `KeywardError` saying why not. The guard's `ready()` calls it. Health checks
   * call it in a loop: answer from what is already known (fresh keys, an answer less than a
   * second old) rather than calling the service each time.
   */
  ready?(): Promise<void>
  /** Releases connections (keep-alive pools). Call it when shutting down. */
  close?(): Promise<void>
  /**
   * What, besides the token, the verdict depends on: whatever the validator sends about the
   * request (`httpValidator` returns the `client_ip` it sends). The guard caches and coalesces
   * verdicts per token *and* this value, so a service's per-request rules (an address
   * allow-list) are not skipped by a verdict cached for another request. Absent: the verdict
   * depends on the token alone. `delegateBearerAuth({ cacheBy: 'token' })` ignores it.
   */
  cacheKey?(req: KeywardRequest): string
}

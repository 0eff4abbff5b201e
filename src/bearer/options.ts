import type { Clock } from '../core/clock.js'
import type { GuardOptions } from '../core/guard.js'
import type { InvalidationSource } from '../core/invalidation-source.js'
import { optionNames, positiveInteger, positiveNumber } from '../core/options.js'
import { CircuitBreaker, type CircuitBreakerOptions } from './breaker.js'
import type { TokenValidator } from './validators/types.js'

const NAME = 'delegateBearerAuth'

/**
 * Push invalidation: a bus that tells every instance which token's cached verdict to drop —
 * `subscribe(listener)` is called with a token fingerprint (`fingerprint(token)`), or with no id
 * to drop every cached verdict. The same interface as the widget guard's `InvalidationSource`.
 */
export type TokenInvalidation = InvalidationSource

export interface DelegateBearerAuthOptions extends GuardOptions {
  /**
   * Decides whether a token is valid: `httpValidator`, `introspectionValidator`, `jwtValidator`,
   * or your own `(token, { req, signal }) => Promise<TokenResult>`. A validator that throws or
   * times out means "cannot decide": 503, never 401 (F5).
   */
  validator: TokenValidator
  /**
   * Default true. `false`: a request without an `Authorization` header passes on without
   * `req.auth` (optional authentication); a header that is present but malformed, or a token that
   * is refused, is still refused.
   */
  credentialsRequired?: boolean
  /** The `realm` of RFC 6750 `WWW-Authenticate` challenges. Default `'api'`. */
  realm?: string
  /**
   * How long an accepted token's verdict is reused, ms; never beyond the token's own expiry.
   * Default 60 000. A revoked token keeps working at most this long unless `invalidate()` or
   * `invalidation` drops it. 0 disables caching of accepted tokens.
   */
  cacheTtl?: number
  /**
   * How long a refused token's verdict is reused, ms. Default 5000: short, so a token that just
   * became valid works soon, long enough that a client retrying a bad token does not reach the
   * auth service each time. 0 disables it.
   */
  negativeTtl?: number
  /** @deprecated Former name of `negativeTtl`; warns once. */
  negativeCacheTtl?: number
  /** Most accepted verdicts kept (least recently used dropped first). Default 10 000. */
  cacheSize?: number
  /**
   * Most refused verdicts kept, in an LRU of their own (least recently used dropped first).
   * Default 1000. Separate so that a flood of junk tokens evicts only other junk, never the
   * verdicts of real sessions.
   */
  negativeCacheSize?: number
  /**
   * What a verdict is cached and coalesced by. `'validator'` (default): the token plus what the
   * validator says it sends about the request (its `cacheKey(req)`; `httpValidator`'s
   * `client_ip`), so an auth service's per-address rules hold for cached verdicts too.
   * `'token'`: the token alone — fewer calls, but a token accepted for one client address is
   * then accepted from any other for `cacheTtl`.
   */
  cacheBy?: 'validator' | 'token'
  /**
   * How long past its TTL a cached verdict may still be used during an outage of the service
   * itself (connection error, timeout, 5xx, open circuit), ms. Default 0 (off): an outage is a
   * 503. Never when the service answered about this request (any 4xx, an unreadable answer):
   * a revoked token's holder must not be able to bring back its old "yes". Never extends an
   * accepted token past its expiry.
   */
  staleIfError?: number
  /** Longest wait for the validator, ms. Default 5000. Beyond it: 503 `validator_timeout`. */
  timeout?: number
  /**
   * Circuit breaker in front of the validator: once `threshold` distinct tokens met a failure
   * of the service itself (connection error, timeout, 5xx) within `window` ms — at least one of
   * them a failure no token can provoke — requests get 503 at once for `cooldown` ms, then
   * probes decide whether to close it; any success closes it. Refusals (401/403, any other
   * 4xx) and what a token's content provokes never count, so no unauthenticated caller can
   * open it. Default `{ threshold: 5, cooldown: 5000, window: 10000 }`; `false` disables it.
   */
  circuitBreaker?: CircuitBreakerOptions | false
  /** Push invalidation, e.g. `redisInvalidation(...)`: drops revoked tokens on every instance. */
  invalidation?: TokenInvalidation
  /** Clock for cache ages and the breaker, ms. Default `performance`. For tests. */
  clock?: Clock
}

export const BEARER_OPTION_NAMES = optionNames<DelegateBearerAuthOptions>()(
  'validator',
  'credentialsRequired',
  'realm',
  'cacheTtl',
  'negativeTtl',
  'negativeCacheTtl',
  'cacheSize',
  'negativeCacheSize',
  'cacheBy',
  'staleIfError',
  'timeout',
  'circuitBreaker',
  'invalidation',
  'clock',
  'onError',
  'onDecision',
  'logger',
)

export function breakerOption(
  value: CircuitBreakerOptions | false | undefined,
  clock: Clock,
): CircuitBreaker | undefined {
  if (value === false) return undefined
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`${NAME}: "circuitBreaker" must be { threshold?, cooldown?, window? } or false`)
  }
  const threshold = positiveInteger(value?.threshold ?? 5, 'circuitBreaker.threshold', NAME)
  const cooldown = positiveNumber(value?.cooldown ?? 5000, 'circuitBreaker.cooldown', NAME)
  const window = positiveNumber(value?.window ?? 10_000, 'circuitBreaker.window', NAME)
  return new CircuitBreaker(threshold, cooldown, window, clock)
}

export function nonNegative(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `${NAME}: "${option}" must be a non-negative number of milliseconds; got ${String(value)}`,
    )
  }
  return value
}

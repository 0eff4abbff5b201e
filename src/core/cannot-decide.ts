import { type KeywardCode, KeywardError, type KeywardReason } from './errors.js'

/**
 * How long a client is told to wait after a 503, s, when nothing better is known: the caches
 * and the breaker usually have an answer again within a second.
 */
export const DEFAULT_RETRY_AFTER = '1'

/** What else a "cannot decide" carries. */
export interface CannotDecideDetails {
  /** The guard or adapter that could not decide. */
  middleware?: string
  /** What failed; a foreign error is kept as class name and code only (see `KeywardError`). */
  cause?: unknown
  /** `Retry-After`, s, as text. Default {@link DEFAULT_RETRY_AFTER}. */
  retryAfter?: string
}

/**
 * The one "cannot decide": the store, the resolver or the auth service could not answer, so the
 * request is refused with 503 `auth_unavailable` and `Retry-After` — never allowed, and never a
 * 401/403 that would blame the caller (F5).
 */
export function cannotDecide(
  reason: KeywardReason,
  message: string,
  details: CannotDecideDetails = {},
): KeywardError {
  return new KeywardError({
    code: 'auth_unavailable' satisfies KeywardCode,
    reason,
    message,
    headers: { 'Retry-After': details.retryAfter ?? DEFAULT_RETRY_AFTER },
    ...(details.middleware === undefined ? {} : { middleware: details.middleware }),
    ...(details.cause === undefined ? {} : { cause: details.cause }),
  })
}

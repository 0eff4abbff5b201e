import { cannotDecide } from '../../core/cannot-decide.js'
import { KeywardError, type KeywardReason } from '../../core/errors.js'
import { ForeignError, foreignErrorName } from '../../core/foreign-error.js'
import { safeUrl } from './service-url.js'

/**
 * A cause fit to keep: a KeywardError as it is, anything else reduced to its class and code. A
 * foreign message may quote the token or the request (an HTTP client's error, a resolver's
 * `JSON.parse`), and Express prints the causes of errors it is given.
 */
export function foreignCause(error: unknown): unknown {
  if (KeywardError.is(error) || error instanceof ForeignError) return error
  const reduced = new ForeignError(error)
  if (failedBeforeSending(error)) unsent.add(reduced)
  return reduced
}

/** A 503 "cannot decide" of a validator; a foreign `cause` is reduced, keeping whether it was sent. */
export function unavailable(
  reason: KeywardReason,
  message: string,
  cause?: unknown,
  retryAfter?: string,
): KeywardError {
  return cannotDecide(reason, message, {
    ...(cause === undefined ? {} : { cause: foreignCause(cause) }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
  })
}

// failures that happened before the request (and so the token) reached the service: no token
// content can have provoked them, so the breaker takes them as evidence of an outage
const unsent = new WeakSet<object>()
const UNSENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
])

/** Marks a failure as one that happened before any token was sent (see {@link failedBeforeSending}). */
export function markUnsent<T extends object>(error: T): T {
  unsent.add(error)
  return error
}

/** True when the failure (or its cause) happened before the request carrying the token was sent. */
export function failedBeforeSending(error: unknown): boolean {
  for (let current = error, depth = 0; depth < 5; depth++) {
    if (typeof current !== 'object' || current === null) return false
    if (unsent.has(current)) return true
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && UNSENT_CODES.has(code)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/**
 * "Cannot decide" for an answer other than 2xx, 401 and 403. Only 5xx is a failure of the
 * service (`validator_failed`, which the breaker counts); any other 4xx is what the service says
 * about this one request (`validator_request_refused`, or `validator_rate_limited` for 429 with
 * the service's `Retry-After`), a 503 for that request and nothing more.
 */
export function statusFailure(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  prefix: string,
): KeywardError {
  if (status >= 500) return unavailable('validator_failed', `${prefix}answered ${status}`)
  if (status === 429) {
    return unavailable(
      'validator_rate_limited',
      `${prefix}answered 429 (rate limited)`,
      undefined,
      retryAfterSeconds(headers['retry-after']),
    )
  }
  if (status >= 400) return unavailable('validator_request_refused', `${prefix}answered ${status}`)
  if (status >= 300 && status < 400) {
    return unavailable(
      'validator_bad_response',
      `${prefix}answered ${status}; redirects are not followed (the token would go with them)`,
    )
  }
  return unavailable('validator_bad_response', `${prefix}answered ${status}`)
}

/** Longest `Retry-After` passed on from an auth service, s: a day. */
const MAX_RETRY_AFTER = 86_400

/**
 * A service's `Retry-After` (delay-seconds or HTTP-date) as whole seconds between 1 and a day;
 * anything else is `1`. Never the service's text: it goes into our response headers.
 */
export function retryAfterSeconds(value: string | string[] | undefined, now = Date.now()): string {
  const text = Array.isArray(value) ? value[0] : value
  if (typeof text !== 'string') return '1'
  const trimmed = text.trim()
  let seconds: number
  if (/^\d{1,12}$/.test(trimmed)) seconds = Number(trimmed)
  else if (/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) {
    const at = Date.parse(trimmed)
    seconds = Number.isNaN(at) ? 1 : Math.ceil((at - now) / 1000)
  } else seconds = 1
  return String(Math.min(MAX_RETRY_AFTER, Math.max(1, seconds)))
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** Turns a transport error into "cannot decide" (timeout vs failure), keeping an abort's reason. */
export function transportFailure(error: unknown, signal: AbortSignal, owner: string, url: URL): unknown {
  if (signal.aborted) return signal.reason
  if (KeywardError.is(error)) return error
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return unavailable(
      'validator_timeout',
      `${owner}: ${safeUrl(url)} did not answer in time (${code})`,
      error,
    )
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return unavailable('validator_bad_response', `${owner}: ${safeUrl(url)} sent an answer over 1 MiB`, error)
  }
  if (failedBeforeSending(error)) {
    return markUnsent(
      unavailable(
        'validator_failed',
        `${owner}: could not connect to ${safeUrl(url)} (${foreignErrorName(error)}${causeCode(error)})`,
        error,
      ),
    )
  }
  return unavailable(
    'validator_failed',
    `${owner}: could not reach ${safeUrl(url)} (${foreignErrorName(error)}${causeCode(error)})`,
    error,
  )
}

function causeCode(error: unknown): string {
  const detail = (error as { cause?: { code?: unknown } } | null)?.cause?.code
  return typeof detail === 'string' ? ` ${detail}` : ''
}

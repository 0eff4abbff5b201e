import { Pool } from 'undici'
import { describeValue } from '../../core/credentials.js'
import { KeywardError, type KeywardReason } from '../../core/errors.js'
import { foreignErrorName } from '../../core/foreign-error.js'
import { positiveInteger, positiveNumber } from '../../core/options.js'
import { envVariablesOf } from '../../worker-key/from-env.js'
import type { KeyResolver } from '../../worker-key/key-resolver.js'

/**
 * A validator setting: a literal, or a resolver such as `fromEnv('AUTH_SERVICE_URL')` called
 * for every validation, so a value set after start-up is used at once (F1).
 */
export type SettingSource = string | KeyResolver

/** Connection options shared by the HTTP-based validators. */
export interface TransportOptions {
  /**
   * Longest wait for the service's response headers, and then for its body, ms. Default 5000.
   * On expiry the request is answered 503 `validator_timeout`.
   */
  timeout?: number
  /** Longest wait for a TCP (and TLS) connection, ms. Default 2000: a host that does not accept within that is down. */
  connectTimeout?: number
  /** Most connections kept open to one origin. Default 32. */
  connections?: number
  /** How long an idle keep-alive connection is kept, ms. Default 30 000. */
  keepAliveTimeout?: number
}

/** Largest answer read from an auth service; anything bigger is not a token verdict. */
const MAX_RESPONSE_BYTES = 1024 * 1024

/** A resolved setting, or the reason it could not be resolved. */
export function settingOption(
  value: unknown,
  option: string,
  owner: string,
): () => Promise<string | undefined> {
  if (typeof value === 'function') {
    const resolver = value as KeyResolver
    return async () => firstValue(await resolver())
  }
  if (value instanceof URL) {
    const text = value.href
    return async () => text
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim()
    return async () => text
  }
  throw new TypeError(
    `${owner}: "${option}" must be a non-empty string or a resolver such as fromEnv(...); got ${describeValue(value)}`,
  )
}

function firstValue(list: unknown): string | undefined {
  const entries = Array.isArray(list) ? list : [list]
  for (const entry of entries) {
    const value = typeof entry === 'string' ? entry : (entry as { key?: unknown } | null | undefined)?.key
    if (typeof value === 'string' && value.trim() !== '') return value.trim()
  }
  return undefined
}

/** Reads a setting at request time; unset is a server misconfiguration naming its source (F1). */
export async function readSetting(
  read: () => Promise<string | undefined>,
  source: unknown,
  option: string,
  owner: string,
): Promise<string> {
  let value: string | undefined
  try {
    value = await read()
  } catch (cause) {
    throw unavailable(
      'key_resolver_failed',
      `${owner}: the "${option}" resolver failed (${errorName(cause)})`,
      cause,
    )
  }
  if (value !== undefined) return value
  const variables = envVariablesOf(source)
  const where =
    variables === undefined
      ? `the "${option}" resolver returned nothing`
      : variables.length === 1
        ? `${variables[0]} is unset or blank in this process — check how the process is started (env file, container env, systemd unit)`
        : `none of ${variables.join(', ')} is set in this process`
  throw new KeywardError({
    code: 'server_misconfigured',
    reason: 'validator_unset',
    message: `${owner}: no "${option}" — ${where}`,
  })
}

/**
 * Parses a service URL. A literal is checked at construction (TypeError); a resolved one at
 * request time (500). The value is never echoed: a URL can carry credentials.
 */
export function serviceUrl(value: string, source: unknown, option: string, owner: string): URL {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')) return url
  const variables = envVariablesOf(source)
  const what = variables ? `the value of ${variables.join(' / ')}` : `"${option}"`
  if (typeof source === 'function') {
    throw new KeywardError({
      code: 'server_misconfigured',
      reason: 'validator_url_invalid',
      message: `${owner}: ${what} is not an absolute http(s) URL such as https://auth.internal/validate`,
    })
  }
  throw new TypeError(
    `${owner}: ${what} must be an absolute http(s) URL such as https://auth.internal/validate`,
  )
}

/** Where a request went, for messages: origin and path only, never credentials or a query. */
const OWN_VALIDATORS = new WeakSet<object>()

/**
 * Marks a validator made by keyward: the messages of the KeywardErrors it throws are keyward's
 * own (a URL without credentials, a class name), so the guard passes them on. Any other
 * validator's KeywardError keeps its code, reason and headers only, as its message may quote
 * the token.
 */
export function ownValidator<T extends object>(validator: T): T {
  OWN_VALIDATORS.add(validator)
  return validator
}

/** Whether {@link ownValidator} marked `validator`. */
export function isOwnValidator(validator: unknown): boolean {
  return typeof validator === 'function' && OWN_VALIDATORS.has(validator)
}

export function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`
}

/** A "cannot decide" failure: 503 `auth_unavailable`. A foreign `cause` is kept as class and code only. */
export function unavailable(
  reason: KeywardReason,
  message: string,
  cause?: unknown,
  headers: Record<string, string> = { 'Retry-After': '1' },
): KeywardError {
  return new KeywardError({
    code: 'auth_unavailable',
    reason,
    message,
    headers,
    ...(cause === undefined ? {} : { cause: foreignCause(cause) }),
  })
}

/** What a foreign error's class and code say of it */
export class ForeignError extends Error {
  override readonly name: string
  readonly code: string | undefined

  constructor(error: unknown) {
    super(errorName(error))
    this.name = error instanceof Error ? error.name : typeof error
    const code = (error as { code?: unknown } | null)?.code
    this.code = typeof code === 'string' ? code : undefined
  }
}

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
    return unavailable('validator_rate_limited', `${prefix}answered 429 (rate limited)`, undefined, {
      'Retry-After': retryAfterSeconds(headers['retry-after']),
    })
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

/**
 * Readiness with a floor: the last answer (success or failure) about one service is reused for
 * `floor` ms and concurrent calls share one check, so a health check polled in a loop costs the
 * service at most one call per `floor`. The settings are read by the caller every time (a
 * variable set later is used at once); `key` names what was checked (the URL and whatever else
 * the settings resolved to), and a new key is checked at once. `fresh()` may say the validator
 * already knows the service works (keys fetched recently): then no call is made at all.
 */
export function readinessFloor(
  fresh: () => boolean = () => false,
  floor = 1000,
): (key: string, check: () => Promise<void>) => Promise<void> {
  let last: { key: string; at: number; result: Promise<void> } | undefined
  return (key, check) => {
    if (fresh()) return Promise.resolve()
    const now = performance.now()
    if (last !== undefined && last.key === key && now - last.at < floor) return last.result
    const result = check()
    // an unobserved rejection of a reused result must not crash the process
    result.catch(() => {})
    last = { key, at: now, result }
    return result
  }
}

/** A name for an error that cannot contain a secret: its class and code, not its message. */
export function errorName(error: unknown): string {
  return foreignErrorName(error)
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
        `${owner}: could not connect to ${safeUrl(url)} (${errorName(error)}${causeCode(error)})`,
        error,
      ),
    )
  }
  return unavailable(
    'validator_failed',
    `${owner}: could not reach ${safeUrl(url)} (${errorName(error)}${causeCode(error)})`,
    error,
  )
}

function causeCode(error: unknown): string {
  const detail = (error as { cause?: { code?: unknown } } | null)?.cause?.code
  return typeof detail === 'string' ? ` ${detail}` : ''
}

/** An HTTP client for one validator: `request` answers or throws a 503-ready KeywardError. */
export interface Transport {
  request(
    url: URL,
    init: { method: 'POST' | 'GET'; headers: Record<string, string>; body?: string; signal?: AbortSignal },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>
  close(): Promise<void>
}

/**
 * One undici keep-alive `Pool` per origin (the URL may change at runtime, F1), with connect,
 * headers and body timeouts, a response size limit, and no redirects: a redirect would carry the
 * token's `Authorization` header to wherever it points.
 */
export function transport(options: TransportOptions, owner: string): Transport {
  const timeout = positiveNumber(options.timeout ?? 5000, 'timeout', owner)
  const connectTimeout = positiveNumber(
    options.connectTimeout ?? Math.min(2000, timeout),
    'connectTimeout',
    owner,
  )
  const connections = positiveInteger(options.connections ?? 32, 'connections', owner)
  const keepAliveTimeout = positiveNumber(options.keepAliveTimeout ?? 30_000, 'keepAliveTimeout', owner)
  const pools = new Map<string, Pool>()

  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin)
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections,
        keepAliveTimeout,
        connectTimeout,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        maxResponseSize: MAX_RESPONSE_BYTES,
      })
      pools.set(origin, pool)
    }
    return pool
  }

  return {
    async request(url, init) {
      const signal = init.signal ?? new AbortController().signal
      try {
        const response = await poolFor(url.origin).request({
          method: init.method,
          path: `${url.pathname}${url.search}`,
          headers: init.headers,
          ...(init.body === undefined ? {} : { body: init.body }),
          signal,
        })
        const text = await response.body.text()
        return { status: response.statusCode, headers: response.headers, text }
      } catch (error) {
        throw transportFailure(error, signal, owner, url)
      }
    },
    async close() {
      const all = [...pools.values()]
      pools.clear()
      await Promise.all(all.map((pool) => pool.close()))
    },
  }
}

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

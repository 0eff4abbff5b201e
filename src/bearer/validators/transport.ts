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
export function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`
}

/** A "cannot decide" failure: 503 `auth_unavailable`. */
export function unavailable(reason: KeywardReason, message: string, cause?: unknown): KeywardError {
  return new KeywardError({
    code: 'auth_unavailable',
    reason,
    message,
    headers: { 'Retry-After': '1' },
    ...(cause === undefined ? {} : { cause }),
  })
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
  const detail = (error as { cause?: { code?: unknown } } | null)?.cause?.code
  return unavailable(
    'validator_failed',
    `${owner}: could not reach ${safeUrl(url)} (${errorName(error)}${typeof detail === 'string' ? ` ${detail}` : ''})`,
    error,
  )
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

/** Scopes from a `scope` string (RFC 6749 / 7662 / 9068) or a `scopes`/`scp` array. */
export function scopesFrom(...candidates: unknown[]): string[] | undefined {
  for (const value of candidates) {
    if (typeof value === 'string') return value.split(' ').filter((scope) => scope !== '')
    if (Array.isArray(value) && value.every((scope) => typeof scope === 'string')) return [...value]
  }
  return undefined
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

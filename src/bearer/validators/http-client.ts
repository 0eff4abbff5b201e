import { Pool } from 'undici'
import { positiveInteger, positiveNumber } from '../../core/options.js'
import { transportFailure } from './http-failures.js'

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

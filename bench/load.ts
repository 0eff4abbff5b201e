import { createHistogram } from 'node:perf_hooks'
import autocannon from 'autocannon'

export interface LoadOptions {
  url: string
  /** Concurrent keep-alive connections. */
  connections: number
  /** How long to send, s; with `requests`, the longest the run may take. */
  seconds: number
  /**
   * Send exactly this many requests instead of sending for `seconds` (stopped early, with fewer
   * answers, if `seconds` pass first: a row bound by PBKDF2 would take many minutes).
   */
  requests?: number
  /** Headers of every request. */
  headers?: Record<string, string>
  /** Headers that change per request (merged over `headers`), e.g. a tenant never seen before. */
  vary?: () => Record<string, string>
}

export interface LoadResult {
  /** Answers received, any status. */
  responses: number
  /** 2xx answers per second: the throughput every ratio is computed from. */
  okPerSecond: number
  /** Answers per status code. */
  statuses: Record<string, number>
  /** Connection errors and timeouts. */
  errors: number
  /** Latency of 2xx answers, from the client's clock, in ms with µs resolution. */
  p50Ms: number
  p99Ms: number
  seconds: number
}

/**
 * Runs autocannon against one server. Latency is taken from autocannon's per-response event
 * (float ms) into a µs histogram: autocannon's own histogram counts whole milliseconds, too
 * coarse for a middleware that costs microseconds.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latency = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 })
  const statuses: Record<string, number> = {}
  const { vary } = options
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.requests ? { amount: options.requests } : { duration: options.seconds }),
    pipelining: 1,
    timeout: 30,
    headers: options.headers ?? {},
    ...(vary
      ? {
          requests: [
            { setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...vary() } }) },
          ],
        }
      : {}),
    skipAggregateResult: true,
  })
  instance.on('response', (_client, status, _bytes, ms) => {
    statuses[status] = (statuses[status] ?? 0) + 1
    if (status >= 200 && status < 300) latency.record(Math.max(1, Math.round(ms * 1000)))
  })
  const startedAt = performance.now()
  const cap = options.requests ? setTimeout(() => instance.stop(), options.seconds * 1000) : undefined
  const result = await instance
  clearTimeout(cap)
  const seconds = (performance.now() - startedAt) / 1000
  let ok = 0
  let responses = 0
  for (const [status, count] of Object.entries(statuses)) {
    responses += count
    if (status.startsWith('2')) ok += count
  }
  return {
    responses,
    okPerSecond: ok / seconds,
    statuses,
    errors: result.errors,
    p50Ms: latency.count > 0 ? latency.percentile(50) / 1000 : Number.NaN,
    p99Ms: latency.count > 0 ? latency.percentile(99) / 1000 : Number.NaN,
    seconds,
  }
}

/**
 * Heap bytes a warm or cached row allocates per request, in-process: each row's middlewares
 * called with a fake request until V8 has optimised them, then a fixed number of times with the
 * young generation large enough that no collection runs in between, heap growth ÷ calls, minus
 * the same loop around an empty chain (the fake request itself). What an optimised path does
 * not allocate (escape analysis) does not count; what it allocates and drops does.
 *
 * `npm run bench:allocations -- [row ...]`
 * (default: bare, the hand-written check and every warm keyward row; the bearer rows start the
 * local auth service).
 */
import { randomBytes } from 'node:crypto'
import { PerformanceObserver } from 'node:perf_hooks'
import type { RequestHandler } from 'express'
import { createWidgetKey, formatHashRecord } from '../src/index.js'
import { forkScript, nextMessage } from './processes.js'
import { scenarios } from './scenarios.js'
import { servers } from './servers/index.js'
import type { BenchSetup } from './setup.js'

const WARM = 30_000
const CALLS = 20_000
const REPEATS = 5

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc (see the comment at the top of bench/allocations.ts)')

let collections = 0
new PerformanceObserver((list) => {
  collections += list.getEntries().length
}).observe({ entryTypes: ['gc'] })
// gc entries reach the observer a little after the collection
const flushObserver = () => new Promise((resolve) => setTimeout(resolve, 10))

function fakeRequest(headers: Record<string, string>) {
  const rawHeaders = ['host', '127.0.0.1']
  for (const [name, value] of Object.entries(headers)) rawHeaders.push(name, value)
  return { method: 'GET', url: '/', headers: { host: '127.0.0.1', ...headers }, rawHeaders }
}

/** Calls the chain once; true when every middleware called `next()` before returning. */
function callChain(middlewares: RequestHandler[], req: unknown, res: unknown): boolean {
  let passed = 0
  const next = () => {
    passed++
  }
  for (const middleware of middlewares) {
    const before = passed
    middleware(req as never, res as never, next)
    if (passed === before) return false
  }
  return true
}

async function bytesPerCall(middlewares: RequestHandler[], headers: Record<string, string>) {
  const res = { headersSent: false, setHeader() {}, getHeader() {}, status() {}, end() {} }
  for (let i = 0; i < WARM; i++) {
    if (!callChain(middlewares, fakeRequest(headers), res)) return { bytes: Number.NaN, sync: false }
  }
  let best = Number.POSITIVE_INFINITY
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    gc!()
    await flushObserver()
    const seen = collections
    const start = process.memoryUsage().heapUsed
    for (let i = 0; i < CALLS; i++) callChain(middlewares, fakeRequest(headers), res)
    const grown = process.memoryUsage().heapUsed - start
    await flushObserver()
    // a scavenge in the loop hides what it collected: that repeat does not count
    if (collections === seen) best = Math.min(best, grown / CALLS)
  }
  return { bytes: best, sync: true }
}

async function main() {
  const wanted = process.argv.slice(2)
  const ids =
    wanted.length > 0
      ? wanted
      : ['bare', 'handwritten-sha256', 'worker-key', 'widget-warm', 'bearer-http-cached', 'bearer-jwt']
  const needsAuth = ids.some((id) => id.startsWith('bearer') || id.includes('jwt'))
  const authProcess = needsAuth ? forkScript('auth-service.ts') : undefined
  const auth = authProcess
    ? (await nextMessage<{ type: 'ready'; auth: BenchSetup['auth'] }>(authProcess, 'ready')).auth
    : ({} as BenchSetup['auth'])
  const widget = await createWidgetKey({ iterations: 600_000 })
  const setup: BenchSetup = {
    workerKey: `wk_${randomBytes(24).toString('base64url')}`,
    widgetKey: widget.key,
    widgetRecord: formatHashRecord(widget.record, 'phc') as string,
    widgetTenant: 'tenant-bench',
    auth,
  }
  try {
    const results = new Map<string, { bytes: number; sync: boolean }>()
    for (const id of ['bare', ...ids.filter((id) => id !== 'bare')]) {
      const scenario = scenarios.find((s) => s.id === id)
      const load = servers[id]
      if (!scenario || !load) throw new Error(`unknown row "${id}"`)
      const { middlewares } = await (await load()).build(setup)
      const { headers } = scenario.request(setup)
      // the first request of a cached row fills its cache (PBKDF2, an auth-service call)
      await new Promise<void>((resolve) => {
        let index = 0
        const step = () =>
          index < middlewares.length
            ? middlewares[index++]!(fakeRequest(headers) as never, {} as never, step)
            : resolve()
        step()
      })
      results.set(id, await bytesPerCall(middlewares, headers))
    }
    const baseline = results.get('bare')!.bytes
    for (const [id, { bytes, sync }] of results) {
      const label = scenarios.find((s) => s.id === id)!.label
      const shown = !sync
        ? 'not synchronous on its warm path: not measured'
        : !Number.isFinite(bytes)
          ? 'a collection ran in every repeat: raise --min-semi-space-size'
          : id === 'bare'
            ? `${bytes.toFixed(0)} B per call (the fake request; subtracted from the others)`
            : `${(bytes - baseline).toFixed(0)} B per request`
      console.log(`${id.padEnd(20)} ${shown}  ${label}`)
    }
  } finally {
    authProcess?.kill()
  }
}

await main()

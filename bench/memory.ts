/**
 * Heap under a flood of distinct bad credentials, driven in-process through the middlewares
 * (fake req/res: a million HTTP requests would take too long and measure the HTTP stack): every
 * cache must stay within its `max`, and no map may grow with the number of distinct inputs.
 *
 * Run with `node --expose-gc --import tsx bench/memory.ts [--count N] [--json FILE] [--bounds small]`.
 */
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import {
  delegateBearerAuth,
  formatHashRecord,
  type Guard,
  hashWidgetKey,
  requireWorkerKey,
  verifyWidgetKey,
} from '../src/index.js'
import { fakeRequest, runGuard } from '../test/reliability/helpers/fake-http.js'

export interface MemoryCheckpoint {
  /** Credentials sent so far. */
  sent: number
  /** Heap used after a full GC, MB. */
  heapMb: number
}

export interface MemoryReport {
  name: string
  /** What was sent. */
  what: string
  /** The cache bound that should cap growth, as configured. */
  bound: string
  sent: number
  /** Heap after set-up, before the flood (after GC), MB. */
  heapBeforeMb: number
  checkpoints: MemoryCheckpoint[]
  /** Heap growth over the whole flood, MB. */
  growthMb: number
  /** Heap growth over the last three quarters of the flood, MB: ~0 when every cache is full and bounded. */
  lateGrowthMb: number
  /** The guard's counters at the end (cache sizes included). */
  stats: Record<string, number>
  /** Answers by status. */
  statuses: Record<string, number>
  seconds: number
}

export interface MemoryOptions {
  /** Distinct bad credentials per middleware. Default 1 000 000. */
  count?: number
  /** `delegateBearerAuth`'s `cacheSize`. Default 10 000 (its default). */
  cacheSize?: number
  /** `verifyWidgetKey`'s `cacheSize`. Default 10 000 (its default). */
  maxTenants?: number
  /** `verifyWidgetKey`'s `maxVerifiedKeys`. Default 50 000 (its default). */
  maxVerifiedKeys?: number
  /** Tenants the wrong widget keys are spread over. Default 20 000: twice `cacheSize`. */
  tenants?: number
  /** Requests in flight at once. Default 64 (also the widget guard's `maxHashesInFlight`). */
  concurrency?: number
  /** Progress lines on stderr. */
  progress?: (line: string) => void
}

const MB = 1024 * 1024

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc: heap figures are only comparable after a full GC')
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

async function flood(
  name: string,
  what: string,
  bound: string,
  guard: Guard,
  headersFor: (i: number) => Record<string, string>,
  options: Required<Pick<MemoryOptions, 'count' | 'concurrency'>> & MemoryOptions,
): Promise<MemoryReport> {
  const statuses: Record<string, number> = {}
  const checkpointsAt = new Set([0.1, 0.25, 0.5, 0.75, 1].map((share) => Math.round(options.count * share)))
  // warm the code paths (a few, so the caches are still nearly empty at the baseline)
  for (let i = 0; i < 100; i++) await runGuard(guard, fakeRequest(headersFor(options.count + i)))
  const before = heapUsed()
  const checkpoints: MemoryCheckpoint[] = []
  const startedAt = performance.now()
  let sent = 0
  while (sent < options.count) {
    const batch = Math.min(options.concurrency, options.count - sent)
    const outcomes = await Promise.all(
      Array.from({ length: batch }, (_, j) => runGuard(guard, fakeRequest(headersFor(sent + j)))),
    )
    for (const outcome of outcomes) statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1
    const previous = sent
    sent += batch
    for (const at of checkpointsAt) {
      if (at > previous && at <= sent) {
        checkpoints.push({ sent: at, heapMb: heapUsed() / MB })
        options.progress?.(
          `${name}: ${at.toLocaleString('en')} sent, heap ${(checkpoints.at(-1)!.heapMb).toFixed(1)} MB`,
        )
      }
    }
  }
  const quarter = checkpoints.find((point) => point.sent >= options.count / 4) ?? checkpoints[0]!
  const last = checkpoints.at(-1)!
  return {
    name,
    what,
    bound,
    sent,
    heapBeforeMb: before / MB,
    checkpoints,
    growthMb: last.heapMb - before / MB,
    lateGrowthMb: last.heapMb - quarter.heapMb,
    stats: guard.stats(),
    statuses,
    seconds: (performance.now() - startedAt) / 1000,
  }
}

/** Floods each middleware with `count` distinct bad credentials and reports the heap. */
export async function measureMemory(options: MemoryOptions = {}): Promise<MemoryReport[]> {
  const settings = { count: 1_000_000, concurrency: 64, ...options }
  const reports: MemoryReport[] = []

  // bearer: every token distinct and refused; refusals are cached (negative TTL) up to cacheSize
  const cacheSize = settings.cacheSize ?? 10_000
  const bearer = delegateBearerAuth({
    validator: async () => ({ active: false }),
    cacheSize,
  })
  reports.push(
    await flood(
      'delegateBearerAuth',
      'distinct invalid tokens (validator refuses each)',
      `cacheSize ${cacheSize.toLocaleString('en')}`,
      bearer,
      (i) => ({ authorization: `Bearer inv_${i.toString(36)}_${'x'.repeat(24)}` }),
      settings,
    ),
  )

  // widget: distinct wrong keys over more tenants than the record cache holds, so both the
  // record cache and the verification cache are kept at their bounds by eviction
  const maxTenants = settings.maxTenants ?? 10_000
  const tenants = settings.tenants ?? 2 * maxTenants
  const maxVerifiedKeys = settings.maxVerifiedKeys ?? 50_000
  const record = formatHashRecord(
    await hashWidgetKey('wid_memory_bench_valid_key_0000000000', { iterations: 1 }),
    'phc',
  )
  const widget = verifyWidgetKey({
    records: async (tenantId) => (tenantId.startsWith('tenant-') ? record : null),
    cacheSize: maxTenants,
    maxVerifiedKeys,
    maxHashesInFlight: settings.concurrency,
  })
  reports.push(
    await flood(
      'verifyWidgetKey',
      `distinct wrong keys across ${tenants.toLocaleString('en')} tenants (PBKDF2 at 1 iteration)`,
      `cacheSize ${maxTenants.toLocaleString('en')}, maxVerifiedKeys ${maxVerifiedKeys.toLocaleString('en')}`,
      widget,
      (i) => ({
        'x-widget-key': `wrong_${i.toString(36)}_${'y'.repeat(20)}`,
        'x-tenant-id': `tenant-${i % tenants}`,
      }),
      settings,
    ),
  )

  // worker: distinct wrong keys; the key list is one cache entry, so nothing may grow at all
  const worker = requireWorkerKey({ keys: 'wk_memory_bench_expected_key_00000000000' })
  reports.push(
    await flood(
      'requireWorkerKey',
      'distinct wrong keys',
      'one key list (max 1)',
      worker,
      (i) => ({ 'x-worker-key': `wrong_${i.toString(36)}_${'z'.repeat(24)}` }),
      settings,
    ),
  )
  return reports
}

/** A plain-text table of the reports. */
export function formatMemoryReports(reports: readonly MemoryReport[]): string {
  const lines = reports.map(
    (r) =>
      `${r.name.padEnd(20)} ${r.sent.toLocaleString('en').padStart(9)} sent  heap ${r.heapBeforeMb.toFixed(1)} -> ${r.checkpoints.at(-1)!.heapMb.toFixed(1)} MB  growth ${r.growthMb.toFixed(1)} MB (last 3/4: ${r.lateGrowthMb.toFixed(1)} MB)  ${r.seconds.toFixed(0)} s  bound: ${r.bound}`,
  )
  return lines.join('\n')
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const at = process.argv.indexOf(name)
    return at < 0 ? undefined : process.argv[at + 1]
  }
  const count = Number(arg('--count') ?? 1_000_000)
  // --bounds small: caches a tenth of their defaults, so a short flood (the reliability suite's)
  // fills them early and the plateau after that shows
  const small = arg('--bounds') === 'small'
  const reports = await measureMemory({
    count,
    ...(small ? { cacheSize: 1000, maxTenants: 1000, maxVerifiedKeys: 5000 } : {}),
    progress: (line) => process.stderr.write(`  ${line}\n`),
  })
  console.log(formatMemoryReports(reports))
  const file = arg('--json')
  if (file) writeFileSync(file, `${JSON.stringify(reports, null, 2)}\n`)
}

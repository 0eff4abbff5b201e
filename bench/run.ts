/**
 * `npm run bench`: keyward against bare Express and the middlewares people use instead, in one
 * run on one machine.
 *
 * Method: every row's server is its own process on 127.0.0.1, fresh in each round; autocannon
 * runs in this process. Each round runs bare, x, bare, y, ..., bare, and every figure is taken
 * relative to the bare runs just before and after it, so drift in the machine's speed (other
 * load, thermal state) cancels out; the table shows the median of the rounds. Throughput is measured with many
 * connections (the server saturated), latency with one connection (the time a request takes,
 * not the time it queues), from autocannon's per-response clock at µs resolution. Server CPU
 * per request comes from a fixed number of requests, user + system time as the OS counts it for
 * the server process: a busy neighbour slows a request down but hardly changes what it costs.
 *
 * Environment: BENCH_ROUNDS (3), BENCH_SECONDS (6), BENCH_WARMUP (1), BENCH_LATENCY_SECONDS (3),
 * BENCH_CONNECTIONS (50), BENCH_PREHEAT (2, s of load per server before its round), BENCH_ONLY (comma-separated row ids), BENCH_MEMORY (1; 0 skips the
 * memory flood), BENCH_MEMORY_COUNT (1 000 000), BENCH_ATTEMPTS (4: a run during which other
 * processes used more than a tenth of a core is repeated up to this many times), BENCH_PIN (0; 1
 * pins the load generator to CPU 0 and the servers to CPU 1), BENCH_CPU_REQUESTS (20 000 requests
 * per row per round counted for server CPU; 0 skips it), BENCH_CPU_MAX_SECONDS (15: a row bound
 * by PBKDF2 stops short of the count), BENCH_QUIET_WAIT (60: the longest wait, s, for the other
 * processes to go quiet before a run). With BENCH_ONLY the results go to bench/results/partial/,
 * not to bench/RESULTS.md and the README section.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createWidgetKey, formatHashRecord } from '../src/index.js'
import { ForeignLoad } from '../test/reliability/helpers/foreign-load.js'
import { renderChart } from './chart.js'
import type { InSituMessage, InSituRequest } from './in-situ-server.js'
import { runLoad } from './load.js'
import { describeMachine } from './machine.js'
import type { MemoryReport } from './memory.js'
import { BenchServer, forkScript, nextMessage } from './processes.js'
import {
  checkThresholds,
  compareWithHandwritten,
  renderReadmeSection,
  renderResults,
  WARM_ROWS,
} from './report.js'
import type { BenchConfig, BenchResults, CpuCount, Measurement, Row } from './results.js'
import { type Scenario, scenarios } from './scenarios.js'
import type { BenchSetup } from './setup.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const env = process.env
const number = (value: string | undefined, fallback: number) => (value ? Number(value) : fallback)

const config: BenchConfig = {
  rounds: number(env.BENCH_ROUNDS, 3),
  seconds: number(env.BENCH_SECONDS, 6),
  warmupSeconds: number(env.BENCH_WARMUP, 1),
  latencySeconds: number(env.BENCH_LATENCY_SECONDS, 3),
  connections: number(env.BENCH_CONNECTIONS, 50),
  preheatSeconds: number(env.BENCH_PREHEAT, 2),
  attempts: number(env.BENCH_ATTEMPTS, 4),
  pin: env.BENCH_PIN === '1',
  cpuRequests: number(env.BENCH_CPU_REQUESTS, 20_000),
  cpuMaxSeconds: number(env.BENCH_CPU_MAX_SECONDS, 15),
  partial: Boolean(env.BENCH_ONLY),
  quietWaitSeconds: number(env.BENCH_QUIET_WAIT, 60),
}
/** Cores' worth of CPU other processes may use during a run before it is repeated. */
const FOREIGN_LIMIT = 0.1
/**
 * Bare servers per round, taking turns: a process keeps its JIT and memory-layout luck for life
 * (a few percent either way), and every row of a round is divided by the bare runs around it.
 */
const BARE_PROCESSES = 3
/** Load per row per round of the in-situ timing, s. */
const IN_SITU_SECONDS = 2
const only = env.BENCH_ONLY?.split(',').map((id) => id.trim())
for (const id of only ?? [])
  if (!scenarios.some((s) => s.id === id))
    throw new Error(`BENCH_ONLY: unknown row "${id}"; one of ${scenarios.map((s) => s.id).join(', ')}`)
// a warm row is compared with the hand-written check of the same run, so that one runs too
if (only?.some((id) => WARM_ROWS.includes(id)) && !only.includes('handwritten-sha256'))
  only.push('handwritten-sha256')
const selected = scenarios.filter((s) => s.id !== 'bare' && (!only || only.includes(s.id)))
const bare = scenarios.find((s) => s.id === 'bare')!

const median = (values: number[]) => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const log = (line: string) => process.stderr.write(`${line}\n`)
let foreign = new ForeignLoad(() => [process.pid])

async function prepare(): Promise<{ setup: BenchSetup; stopAuth: () => void; authPid: number }> {
  const authProcess = forkScript('auth-service.ts')
  const { auth } = await nextMessage<{ type: 'ready'; auth: BenchSetup['auth'] }>(authProcess, 'ready')
  const widget = await createWidgetKey({ iterations: 600_000 })
  return {
    setup: {
      workerKey: `wk_${randomBytes(24).toString('base64url')}`,
      widgetKey: widget.key,
      widgetRecord: formatHashRecord(widget.record, 'phc') as string,
      widgetTenant: 'tenant-bench',
      auth,
    },
    stopAuth: () => authProcess.kill(),
    authPid: authProcess.pid ?? 0,
  }
}

/** Pins a process and all its threads (threads it starts later inherit it) to one CPU. */
function pinTo(cpu: number, pid: number) {
  try {
    execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' })
  } catch {
    log(`could not pin ${pid} to CPU ${cpu} (taskset missing?); running unpinned`)
  }
}

/** The order of rows in a round: rotated each round, so no row always follows the same one. */
function roundOrder(round: number): Scenario[] {
  const shift = Math.round((round * selected.length) / config.rounds)
  return [...selected.slice(shift), ...selected.slice(0, shift)]
}

/**
 * One load run, repeated (up to `attempts` times) when other processes took more than
 * `FOREIGN_LIMIT` cores while it ran: such a run measures the machine's other work.
 */
async function quietRun<T>(
  run: () => Promise<T>,
  label: string,
): Promise<T & { foreignCores: number; attempts: number }> {
  let result: T | undefined
  let foreignCores = 0
  let attempts = 0
  while (attempts < config.attempts) {
    attempts++
    await foreign.quiet(FOREIGN_LIMIT, config.quietWaitSeconds * 1000)
    const start = foreign.sample()
    result = await run()
    foreignCores = foreign.coresSince(start)
    if (foreignCores < FOREIGN_LIMIT) break
    log(
      `    ${label}: other processes used ${foreignCores.toFixed(2)} cores during the run; ${attempts < config.attempts ? 'repeating' : 'keeping it'}`,
    )
  }
  return { ...result!, foreignCores, attempts }
}

async function measure(
  server: BenchServer,
  scenario: Scenario,
  setup: BenchSetup,
  round: number,
): Promise<Measurement> {
  const request = scenario.request(setup)
  const common = {
    url: server.url,
    headers: request.headers,
    ...(request.vary ? { vary: request.vary } : {}),
  }
  let serverCpuMicros = 0
  const throughput = await quietRun(async () => {
    await runLoad({ ...common, connections: config.connections, seconds: config.warmupSeconds })
    await server.settle()
    const cpuBefore = await server.cpuMicros()
    const result = await runLoad({ ...common, connections: config.connections, seconds: config.seconds })
    serverCpuMicros = (await server.cpuMicros()) - cpuBefore
    return result
  }, `${scenario.id} throughput`)
  await server.settle()
  const latency = await quietRun(
    () => runLoad({ ...common, connections: 1, seconds: config.latencySeconds }),
    `${scenario.id} latency`,
  )
  await server.settle()
  const cpuPerRequest = serverCpuMicros / Math.max(1, throughput.responses)
  const cpuCount =
    config.cpuRequests > 0
      ? await quietRun(() => countCpu(server, common), `${scenario.id} CPU count`)
      : undefined
  log(
    `  round ${round + 1} ${scenario.id.padEnd(22)} ${throughput.okPerSecond.toFixed(0).padStart(7)} 2xx/s  ${(cpuCount?.perRequestUs ?? cpuPerRequest).toFixed(1)} µs CPU/req` +
      `  p50 ${latency.p50Ms.toFixed(3)} ms  p99 ${latency.p99Ms.toFixed(3)} ms` +
      (throughput.responses > 0 && throughput.statuses['200'] !== throughput.responses
        ? `  statuses ${JSON.stringify(throughput.statuses)}`
        : ''),
  )
  return {
    scenario: scenario.id,
    round,
    throughput,
    latency,
    cpuPerRequest,
    ...(cpuCount ? { cpuCount } : {}),
  }
}

/**
 * Server CPU over `cpuRequests` requests: the server's own `process.cpuUsage()` (user + system,
 * every thread) read when it is idle, then after the last answer once it is idle again, so work
 * a request leaves behind (garbage collection, PBKDF2 still on libuv's pool) is billed to it.
 */
async function countCpu(
  server: BenchServer,
  common: { url: string; headers: Record<string, string>; vary?: () => Record<string, string> },
): Promise<CpuCount> {
  await server.settle()
  const before = await server.cpuMicros()
  const result = await runLoad({
    ...common,
    connections: config.connections,
    requests: config.cpuRequests,
    seconds: config.cpuMaxSeconds,
  })
  await server.settle()
  const micros = (await server.cpuMicros()) - before
  return { responses: result.responses, micros, perRequestUs: micros / Math.max(1, result.responses) }
}

function summarise(
  measurements: Measurement[],
  stats: Map<string, Record<string, number>>,
  inSitu: Map<string, { p50Us: number; meanUs: number }>,
): Row[] {
  const rows: Row[] = []
  for (const scenario of [bare, ...selected]) {
    const perRound: Array<{
      ratio: number
      ok: number
      p50: number
      p99: number
      addedP50: number
      addedP99: number
      cpu: number
      addedCpu: number
      counted: number
      addedCounted: number
      non2xx: number
    }> = []
    const statuses: Record<string, number> = {}
    measurements.forEach((m, index) => {
      if (m.scenario !== scenario.id) return
      for (const [status, count] of Object.entries(m.throughput.statuses))
        statuses[status] = (statuses[status] ?? 0) + count
      // the bare runs right before and after this one (for bare itself: itself)
      const neighbours =
        scenario.id === 'bare'
          ? [m]
          : [measurements[index - 1], measurements[index + 1]].filter((n) => n?.scenario === 'bare')
      const mean = (pick: (n: Measurement) => number) =>
        neighbours.reduce((sum, n) => sum + pick(n!), 0) / Math.max(1, neighbours.length)
      const ok = m.throughput.okPerSecond
      perRound.push({
        ratio: ok / mean((n) => n.throughput.okPerSecond),
        ok,
        p50: m.latency.p50Ms,
        p99: m.latency.p99Ms,
        addedP50: m.latency.p50Ms - mean((n) => n.latency.p50Ms),
        addedP99: m.latency.p99Ms - mean((n) => n.latency.p99Ms),
        cpu: m.cpuPerRequest,
        addedCpu: m.cpuPerRequest - mean((n) => n.cpuPerRequest),
        counted: m.cpuCount?.perRequestUs ?? Number.NaN,
        addedCounted:
          (m.cpuCount?.perRequestUs ?? Number.NaN) - mean((n) => n.cpuCount?.perRequestUs ?? Number.NaN),
        non2xx:
          m.throughput.responses > 0 ? 1 - (m.throughput.statuses['200'] ?? 0) / m.throughput.responses : 0,
      })
    })
    if (perRound.length === 0) continue
    rows.push({
      id: scenario.id,
      label: scenario.label,
      group: scenario.group,
      ratio: median(perRound.map((r) => r.ratio)),
      ratios: perRound.map((r) => r.ratio),
      okPerSecond: median(perRound.map((r) => r.ok)),
      p50Ms: median(perRound.map((r) => r.p50)),
      p99Ms: median(perRound.map((r) => r.p99)),
      addedP50Ms: median(perRound.map((r) => r.addedP50)),
      addedP99Ms: median(perRound.map((r) => r.addedP99)),
      cpuPerRequestUs: median(perRound.map((r) => r.cpu)),
      addedCpuUs: median(perRound.map((r) => r.addedCpu)),
      countedCpuUs: median(perRound.map((r) => r.counted)),
      addedCountedCpuUs: median(perRound.map((r) => r.addedCounted)),
      addedCountedCpuRounds: perRound.map((r) => r.addedCounted),
      non2xxShare: median(perRound.map((r) => r.non2xx)),
      statuses,
      stats: stats.get(scenario.id) ?? {},
      // net of the timing wrapper's own cost: what it measures around an empty chain (bare)
      inSituP50Us: (inSitu.get(scenario.id)?.p50Us ?? Number.NaN) - (inSitu.get('bare')?.p50Us ?? 0),
      inSituMeanUs: (inSitu.get(scenario.id)?.meanUs ?? Number.NaN) - (inSitu.get('bare')?.meanUs ?? 0),
    })
  }
  return rows
}

/** Rows whose cost is PBKDF2 on libuv's pool: timed per request they would only swamp the others. */
const NOT_IN_SITU = new Set(['widget-cold', 'naive-pbkdf2', 'bare-control'])

/**
 * Time each middleware adds to a request, measured inside one server that mounts them all (see
 * bench/in-situ-server.ts): median over rounds of each row's p50.
 */
async function measureInSitu(
  setup: BenchSetup,
  authPid: number,
): Promise<Map<string, { p50Us: number; meanUs: number }>> {
  const rows = [bare, ...selected].filter((s) => !NOT_IN_SITU.has(s.id))
  const child = forkScript('in-situ-server.ts')
  const ask = async <T extends InSituMessage>(message: InSituRequest, type: T['type']): Promise<T> => {
    const answer = nextMessage<T>(child, type)
    child.send(message)
    return answer
  }
  const perRow = new Map<string, Array<{ p50Us: number; meanUs: number }>>()
  try {
    const { port } = await ask<Extract<InSituMessage, { type: 'listening' }>>(
      { type: 'start', scenarios: rows.map((r) => r.id), setup },
      'listening',
    )
    foreign = new ForeignLoad(() => [process.pid, authPid, child.pid ?? 0])
    const load = (scenario: Scenario, seconds: number) =>
      runLoad({
        url: `http://127.0.0.1:${port}/${scenario.id}`,
        headers: scenario.request(setup).headers,
        connections: 20,
        seconds,
      })
    for (const scenario of rows) await load(scenario, config.preheatSeconds)
    for (let round = 0; round < config.rounds; round++) {
      for (const scenario of [...rows].sort(() => Math.random() - 0.5)) {
        child.send({ type: 'reset', scenario: scenario.id } satisfies InSituRequest)
        await quietRun(() => load(scenario, IN_SITU_SECONDS), `${scenario.id} in-situ`)
        const timing = await ask<Extract<InSituMessage, { type: 'timing' }>>(
          { type: 'timing', scenario: scenario.id },
          'timing',
        )
        perRow.set(scenario.id, [...(perRow.get(scenario.id) ?? []), timing])
      }
    }
  } finally {
    child.kill()
  }
  const out = new Map<string, { p50Us: number; meanUs: number }>()
  for (const [id, timings] of perRow) {
    out.set(id, { p50Us: median(timings.map((t) => t.p50Us)), meanUs: median(timings.map((t) => t.meanUs)) })
    log(`  in-situ ${id.padEnd(22)} p50 ${out.get(id)!.p50Us.toFixed(2)} µs`)
  }
  return out
}

/** Starts the servers of one round: fresh processes, so no row keeps one process's luck. */
async function startRound(
  setup: BenchSetup,
  authPid: number,
): Promise<{ bares: BenchServer[]; servers: Map<string, BenchServer> }> {
  const [bares, others] = await Promise.all([
    Promise.all(Array.from({ length: BARE_PROCESSES }, () => BenchServer.start('bare', setup))),
    Promise.all(selected.map((scenario) => BenchServer.start(scenario.id, setup))),
  ])
  const servers = new Map(selected.map((scenario, i) => [scenario.id, others[i]!]))
  const all = [...bares, ...others]
  if (config.pin) {
    // the load generator (and the auth service) on one core, every server on the other
    pinTo(0, process.pid)
    pinTo(0, authPid)
    for (const server of all) pinTo(1, server.pid)
  }
  foreign = new ForeignLoad(() => [process.pid, authPid, ...all.map((server) => server.pid)])
  // every server gets the same head start: a fresh process runs Express and the middleware in
  // V8's lower tiers for its first thousands of requests
  for (const server of all) {
    const scenario = server.scenario === 'bare' ? bare : selected.find((s) => s.id === server.scenario)!
    const request = scenario.request(setup)
    await runLoad({
      url: server.url,
      headers: request.headers,
      ...(request.vary ? { vary: request.vary } : {}),
      connections: config.connections,
      seconds: config.preheatSeconds,
    })
    await server.settle()
  }
  return { bares, servers }
}

async function main() {
  const startedAt = performance.now()
  // a run of some rows is for looking at, never the published table
  const out = config.partial ? `${here}results/partial/` : `${here}results/`
  mkdirSync(out, { recursive: true })
  const machine = describeMachine()
  const entries = config.rounds * (selected.length * 2 + 1)
  // the fixed-count CPU run: about 6 000 requests/s on a 2-core machine, and two settles
  const cpuSeconds =
    config.cpuRequests > 0 ? Math.min(config.cpuMaxSeconds, config.cpuRequests / 6000) + 1 : 0
  const perEntry = config.warmupSeconds + config.seconds + config.latencySeconds + 1.5 + cpuSeconds
  const preheat = config.rounds * (selected.length + BARE_PROCESSES) * (config.preheatSeconds + 0.5)
  const inSituSeconds =
    (selected.length + 1) * (config.preheatSeconds + config.rounds * (IN_SITU_SECONDS + 1.2))
  log(`keyward bench: ${machine.nproc} × ${machine.cpu}, node ${machine.node}`)
  log(
    `${selected.length} rows + bare, ${config.rounds} rounds: about ${Math.ceil((entries * perEntry + preheat + inSituSeconds) / 60)} min, then the memory flood`,
  )

  const { setup, stopAuth, authPid } = await prepare()
  const measurements: Measurement[] = []
  const stats = new Map<string, Record<string, number>>()
  let inSitu = new Map<string, { p50Us: number; meanUs: number }>()
  try {
    for (let round = 0; round < config.rounds; round++) {
      const { bares, servers } = await startRound(setup, authPid)
      let nextBare = 0
      const bareServer = () => bares[nextBare++ % bares.length]!
      try {
        for (const scenario of roundOrder(round)) {
          measurements.push(await measure(bareServer(), bare, setup, round))
          measurements.push(await measure(servers.get(scenario.id)!, scenario, setup, round))
        }
        measurements.push(await measure(bareServer(), bare, setup, round))
      } finally {
        for (const [id, server] of servers) {
          // counters add up over the rounds' processes
          const counters = await server.stats().catch(() => ({}) as Record<string, number>)
          const total = stats.get(id) ?? {}
          for (const [name, value] of Object.entries(counters)) {
            total[name] = name.endsWith('Peak')
              ? Math.max(total[name] ?? 0, value)
              : (total[name] ?? 0) + value
          }
          stats.set(id, total)
        }
        await Promise.all([...bares, ...servers.values()].map((server) => server.stop()))
      }
    }
    log('in-situ: the time each middleware adds, all in one server ...')
    inSitu = await measureInSitu(setup, authPid)
  } finally {
    stopAuth()
  }

  let memory: MemoryReport[] | undefined
  if (env.BENCH_MEMORY !== '0') {
    const file = `${out}memory.json`
    log('memory: 1 000 000 distinct bad credentials per middleware, in-process ...')
    const child = forkScript(
      'memory.ts',
      ['--expose-gc'],
      ['--json', file, '--count', String(number(env.BENCH_MEMORY_COUNT, 1_000_000))],
    )
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    if (code === 0) memory = JSON.parse(readFileSync(file, 'utf8')) as MemoryReport[]
    else log(`memory flood failed (exit ${code})`)
  }

  const rows = summarise(measurements, stats, inSitu)
  const results: BenchResults = {
    machine,
    config,
    rows,
    thresholds: checkThresholds(rows),
    handwritten: compareWithHandwritten(rows),
    memory,
    measurements,
    inSituOverheadUs: inSitu.get('bare')?.p50Us ?? Number.NaN,
    seconds: (performance.now() - startedAt) / 1000,
  }
  writeFileSync(`${out}raw.json`, `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(`${out}chart.svg`, renderChart(results))
  const report = renderResults(results, config.partial ? '' : 'results/')
  writeFileSync(config.partial ? `${out}RESULTS.md` : `${here}RESULTS.md`, report)
  writeFileSync(
    config.partial ? `${out}README-section.md` : `${here}README-section.md`,
    renderReadmeSection(results),
  )
  process.stdout.write(report)
  log(
    `done in ${(results.seconds / 60).toFixed(1)} min: ${
      config.partial
        ? 'bench/results/partial/ (some rows only: bench/RESULTS.md and the README section are left as they were)'
        : 'bench/RESULTS.md, bench/README-section.md, bench/results/chart.svg'
    }`,
  )
}

await main()

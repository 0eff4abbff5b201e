import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { BenchResults, HandwrittenComparison, Row, ThresholdCheck } from './results.js'

const here = fileURLToPath(new URL('.', import.meta.url))

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '—')
const ms = (value: number) =>
  !Number.isFinite(value)
    ? '—'
    : value >= 100
      ? value.toFixed(0)
      : value >= 10
        ? value.toFixed(1)
        : value.toFixed(3)
const signedMs = (value: number) =>
  !Number.isFinite(value) ? '—' : `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))}`
const ratio = (value: number) =>
  !Number.isFinite(value) ? '—' : value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)
const percent = (share: number) =>
  share === 0 ? '0' : share < 0.001 ? '<0.1%' : `${(share * 100).toFixed(1)}%`
const micros = (value: number) =>
  !Number.isFinite(value) ? '—' : value >= 100 ? value.toFixed(0) : value.toFixed(1)
const rowOf = (rows: readonly Row[], id: string) => rows.find((row) => row.id === id)

/** keyward rows whose requests are answered from a cache or a key list: no I/O, no key derivation. */
export const WARM_ROWS = ['worker-key', 'widget-warm', 'bearer-http-cached', 'bearer-jwt']
/** The hand-written check's added CPU per request is multiplied by this for the comparison. */
const CPU_FACTOR = 1.3
/** The hand-written check's throughput ratio minus this is the comparison's ratio. */
const RATIO_MARGIN = 0.03

/** A measured figure beside a fixed one: `0.78 < 0.97`. */
function relate(measured: number, reference: number, show: (value: number) => string): string {
  if (!Number.isFinite(measured) || !Number.isFinite(reference)) return '—'
  const sign = measured < reference ? '<' : measured > reference ? '>' : '='
  return `${show(measured)} ${sign} ${show(reference)}`
}

/** The run's medians beside the figures the benchmark has been compared with (rows not run are skipped). */
export function checkThresholds(rows: readonly Row[]): ThresholdCheck[] {
  const checks: ThresholdCheck[] = []
  const atLeast = (id: string, min: number, name: string) => {
    const row = rowOf(rows, id)
    if (row)
      checks.push({
        name,
        reference: `≥ ${min.toFixed(2)} × bare`,
        measured: `${ratio(row.ratio)} × bare`,
        relation: relate(row.ratio, min, ratio),
        holds: row.ratio >= min,
      })
  }
  const times = (id: string, peerId: string, factor: number, name: string) => {
    const row = rowOf(rows, id)
    const peer = rowOf(rows, peerId)
    if (row && peer) {
      const measured = row.ratio / peer.ratio
      checks.push({
        name,
        reference: `≥ ${factor}× ${peer.label}`,
        measured: `${measured.toFixed(1)}× (${ratio(row.ratio)} vs ${ratio(peer.ratio)})`,
        relation: relate(measured, factor, (v) => `${v.toFixed(1)}×`),
        holds: measured >= factor,
      })
    }
  }
  atLeast('worker-key', 0.97, '`requireWorkerKey` throughput')
  atLeast('widget-warm', 0.95, '`verifyWidgetKey` warm throughput')
  atLeast('bearer-http-cached', 0.95, '`delegateBearerAuth` cached throughput')
  times('bearer-http-cached', 'naive-delegated', 5, '`delegateBearerAuth` cached vs naive per-request check')
  times(
    'bearer-jwt',
    'oauth2-jwt-bearer',
    1.8,
    '`delegateBearerAuth` + `jwtValidator` vs express-oauth2-jwt-bearer',
  )
  for (const id of WARM_ROWS) {
    const row = rowOf(rows, id)
    if (row) {
      checks.push({
        name: `added p50 latency, ${row.label}`,
        reference: '< 0.050 ms',
        measured: `${signedMs(row.addedP50Ms)} ms`,
        relation: relate(row.addedP50Ms, 0.05, (v) => `${signedMs(v)} ms`),
        holds: row.addedP50Ms < 0.05,
      })
    }
  }
  return checks
}

/**
 * Each warm or cached keyward row beside the hand-written SHA-256 + `timingSafeEqual` check of
 * the same run: server CPU it adds over bare Express per request against the check's × 1.3,
 * and its throughput ratio against the check's − 0.03. Empty when the check was not run.
 */
export function compareWithHandwritten(rows: readonly Row[]): HandwrittenComparison[] {
  const hand = rowOf(rows, 'handwritten-sha256')
  if (!hand) return []
  const cpuBoundUs = hand.addedCountedCpuUs * CPU_FACTOR
  const ratioBound = hand.ratio - RATIO_MARGIN
  return WARM_ROWS.flatMap((id) => {
    const row = rowOf(rows, id)
    if (!row) return []
    return [
      {
        id,
        label: row.label,
        addedCpuUs: row.addedCountedCpuUs,
        handwrittenAddedCpuUs: hand.addedCountedCpuUs,
        cpuBoundUs,
        cpuWithin: row.addedCountedCpuUs <= cpuBoundUs,
        ratio: row.ratio,
        handwrittenRatio: hand.ratio,
        ratioBound,
        ratioWithin: row.ratio >= ratioBound,
      },
    ]
  })
}

/** One sentence per row: both figures, and which side of the other the row's figure is. */
function handwrittenLines(comparisons: readonly HandwrittenComparison[]): string {
  if (comparisons.length === 0) return '_The hand-written check was not run._'
  const us = (value: number) =>
    Number.isFinite(value) ? `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)} µs` : '—'
  return comparisons
    .map((c) => {
      const cpu = !Number.isFinite(c.addedCpuUs)
        ? 'added server CPU per request not counted'
        : `adds ${us(c.addedCpuUs)} of server CPU per request over bare Express, against ${us(c.handwrittenAddedCpuUs)} for the hand-written check (× 1.3: ${us(c.cpuBoundUs)}), so ${c.cpuWithin ? 'at most' : 'more than'} the check's + 30 %`
      const throughput = `its throughput is ${ratio(c.ratio)} × bare against the check's ${ratio(c.handwrittenRatio)} (− 0.03: ${ratio(c.ratioBound)}), so ${c.ratioWithin ? 'at least' : 'below'} the check's − 0.03`
      return `- ${c.label}: ${cpu}; ${throughput}.`
    })
    .join('\n')
}

function machineLine(results: BenchResults): string {
  const { machine } = results
  return `${machine.nproc} × ${machine.cpu} (\`nproc\` ${machine.nproc}), ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}; measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC`
}

const signedMicros = (value: number) =>
  !Number.isFinite(value) ? '—' : `${value >= 0 ? '+' : '−'}${micros(Math.abs(value))}`

function mainTable(rows: readonly Row[]): string {
  const lines = [
    '| middleware | 2xx/s | vs bare | server CPU / request (µs) | added over bare (µs) | time in the middleware, µs | p50, 1 conn (ms) | added p50 (ms) | p99, 1 conn (ms) | added p99 (ms) | non-2xx under load |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ]
  for (const row of rows) {
    const isBare = row.id === 'bare'
    lines.push(
      `| ${row.label} | ${fixed(row.okPerSecond, row.okPerSecond < 100 ? 1 : 0)} | ${isBare ? '1.00' : ratio(row.ratio)} | ${micros(row.countedCpuUs)} | ${isBare ? '' : signedMicros(row.addedCountedCpuUs)} | ${micros(row.inSituP50Us)} | ${ms(row.p50Ms)} | ${isBare ? '' : signedMs(row.addedP50Ms)} | ${ms(row.p99Ms)} | ${isBare ? '' : signedMs(row.addedP99Ms)} | ${percent(row.non2xxShare)} |`,
    )
  }
  return lines.join('\n')
}

function cpuMethod(config: BenchResults['config']): string {
  if (config.cpuRequests === 0)
    return '"Server CPU / request" was not counted in this run (`BENCH_CPU_REQUESTS=0`).'
  return `"Server CPU / request" is the server process's own CPU time, user + system, all threads, as \`process.cpuUsage()\` reads it in the server: read once the server is idle, ${config.cpuRequests.toLocaleString('en')} requests sent over ${config.connections} connections (a row bound by PBKDF2 stops after ${config.cpuMaxSeconds} s and is divided by the answers it got), read again once it is idle, divided by the requests; a run of its own after each row's latency run, so it follows the same bare, x, bare, y order, and the median over the rounds. "Added over bare" is the row's figure minus the mean of the bare runs right before and after it, per round, then the median. A neighbour on the machine slows a request down but changes little of what it costs, so these figures move less between runs than the throughput ratios.`
}

function thresholdsTable(checks: readonly ThresholdCheck[]): string {
  const lines = ['| figure | measured | compared with | measured vs compared |', '|---|---|---|---|']
  for (const c of checks) lines.push(`| ${c.name} | ${c.measured} | ${c.reference} | ${c.relation} |`)
  return lines.join('\n')
}

function roundsTable(
  rows: readonly Row[],
  pick: (row: Row) => number[],
  show: (value: number) => string,
): string {
  const rounds = Math.max(...rows.filter((row) => row.id !== 'bare').map((row) => pick(row).length))
  const lines = [
    `| middleware | ${Array.from({ length: rounds }, (_, i) => `round ${i + 1}`).join(' | ')} | spread |`,
    `|---|${'--:|'.repeat(rounds)}--:|`,
  ]
  for (const row of rows) {
    if (row.id === 'bare') continue
    const values = pick(row).filter(Number.isFinite)
    const spread = values.length > 0 ? Math.max(...values) - Math.min(...values) : Number.NaN
    lines.push(
      `| ${row.label} | ${pick(row).map(show).join(' | ')} | ${show === ratio ? ratio(spread) : micros(spread)} |`,
    )
  }
  return lines.join('\n')
}

function memoryTable(results: BenchResults): string {
  if (!results.memory) return '_Not run (BENCH_MEMORY=0)._'
  const lines = [
    '| middleware | sent | heap before (MB) | heap after (MB) | growth (MB) | growth over the last ¾ (MB) | bound | cache sizes at the end |',
    '|---|--:|--:|--:|--:|--:|---|---|',
  ]
  for (const r of results.memory) {
    const sizes = Object.entries(r.stats)
      .filter(([name]) => name === 'size')
      .map(([name, value]) => `${name} ${value.toLocaleString('en')}`)
      .join(', ')
    lines.push(
      `| \`${r.name}\`: ${r.what} | ${r.sent.toLocaleString('en')} | ${r.heapBeforeMb.toFixed(1)} | ${r.checkpoints.at(-1)!.heapMb.toFixed(1)} | ${r.growthMb.toFixed(1)} | ${r.lateGrowthMb.toFixed(1)} | ${r.bound} | ${sizes || '—'} |`,
    )
  }
  return lines.join('\n')
}

function statsNotes(rows: readonly Row[]): string {
  const notes: string[] = []
  const cold = rowOf(rows, 'widget-cold')
  if (cold) {
    const served = cold.statuses['200'] ?? 0
    const refused = cold.statuses['503'] ?? 0
    notes.push(
      `- **\`verifyWidgetKey\` cold**: every request names a tenant never seen before, so each is a store read and a 600 000-iteration PBKDF2 (${fixed(cold.p50Ms, 0)} ms at one connection). At ${'`maxHashesInFlight: 8`'} (the default) the guard derived ${(cold.stats.hashes ?? 0).toLocaleString('en')} keys and refused ${(cold.stats.hashesRefused ?? 0).toLocaleString('en')} requests with 503 + \`Retry-After\` instead of queueing them (under load: ${served.toLocaleString('en')} × 200, ${refused.toLocaleString('en')} × 503; hashes in flight never above ${cold.stats.hashesPeak ?? '—'}). The naive check queues every request behind libuv's four threads: same derivations per second, but every caller waits.`,
    )
  }
  const uncached = rowOf(rows, 'bearer-http-uncached')
  if (uncached) {
    notes.push(
      `- **\`cacheTtl: 0\`**: no verdict is reused, but concurrent requests presenting the same token share one call (${(uncached.stats.validations ?? 0).toLocaleString('en')} validations, ${(uncached.stats.coalesced ?? 0).toLocaleString('en')} requests coalesced onto one in flight). Every request of the naive row is its own call.`,
    )
  }
  return notes.join('\n')
}

/** `bench/RESULTS.md`. */
export function renderResults(results: BenchResults, resultsDir = 'results/'): string {
  const { config } = results
  const analysis = existsSync(`${here}analysis.md`) ? readFileSync(`${here}analysis.md`, 'utf8').trim() : ''
  return `# keyward benchmark results

Measured on ${machineLine(results)}.

Written by \`npm run bench\` (\`bench/run.ts\`); the same figures as a chart: [${resultsDir}chart.svg](${resultsDir}chart.svg), raw data in \`${resultsDir}raw.json\`.${config.partial ? ' Some rows only (`BENCH_ONLY`).' : ''}

**Method.** Each middleware guards \`GET /\` (\`res.json({ ok: true })\`) in an Express 5 app in its own process on 127.0.0.1; autocannon runs in the orchestrating process. Each of ${config.rounds} rounds runs bare, x, bare, y, …, bare; a row's figures are relative to the bare runs right before and after it, and the table shows the median over the rounds. Throughput: ${config.connections} keep-alive connections for ${config.seconds} s after a ${config.warmupSeconds} s warm-up, 2xx answers per second. Latency: one connection for ${config.latencySeconds} s, from autocannon's per-response clock at µs resolution; "added" is the row minus its neighbouring bare runs. The machine has ${results.machine.nproc} cores shared by the server, the load generator and (for the bearer rows) the auth service process, so p99 at one connection is mostly scheduler noise: reported, not chased. Every server is a fresh process in each round (a process keeps its JIT and memory-layout luck for life), three bare processes take turns, and a run during which other processes on the machine used more than a tenth of a core is repeated. The control row — bare Express in another process, measured like any other row — shows how far from 1.00 a row lands when there is no difference at all. ${cpuMethod(config)} "Time in the middleware" is measured differently: every middleware mounted on its own path in one server process (one JIT, one memory layout for all), timed with a ns clock from entering it to its \`next()\`, 20 connections, p50, median of the rounds, minus the same figure for an empty chain (the timing's own cost, ${fixed(results.inSituOverheadUs, 1)} µs); it resolves differences of a microsecond that throughput on this machine cannot. For asynchronous middlewares it includes waiting (for the auth service, or for WebCrypto on libuv's pool), not only CPU.

## Throughput and latency

${mainTable(results.rows)}

${statsNotes(results.rows)}

## Warm paths beside the hand-written check

${handwrittenLines(results.handwritten)}

## Figures beside fixed reference values

${thresholdsTable(results.thresholds)}

${analysis ? `## Analysis\n\n${analysis}\n\n` : ''}## Per-round ratios

${roundsTable(results.rows, (row) => row.ratios, ratio)}

## Per-round added server CPU per request (µs)

${roundsTable(results.rows, (row) => row.addedCountedCpuRounds, signedMicros)}

## Memory under a flood of distinct bad credentials

Driven in-process through each middleware with fake req/res (\`bench/memory.ts\`, \`--expose-gc\`, heap after a full GC); wrong widget keys are checked against 1-iteration PBKDF2 records with \`maxHashesInFlight: 64\` so a million derivations fit in the run. Growth stops once each cache is full: the last three quarters of the flood add nothing.

${memoryTable(results)}

Whole run: ${(results.seconds / 60).toFixed(1)} min.
`
}

/** `bench/README-section.md`: the part of the README that shows the results. */
export function renderReadmeSection(results: BenchResults): string {
  const rows = results.rows
  const lines = [
    '| middleware | throughput vs bare Express | server CPU / request (µs) | added over bare (µs) | time it adds to a request (µs) | added p50 latency, 1 connection |',
    '|---|--:|--:|--:|--:|--:|',
  ]
  for (const row of rows) {
    const isBare = row.id === 'bare'
    lines.push(
      `| ${row.label} | ${isBare ? '1.00' : ratio(row.ratio)} | ${micros(row.countedCpuUs)} | ${isBare ? '' : signedMicros(row.addedCountedCpuUs)} | ${isBare ? '' : micros(row.inSituP50Us)} | ${isBare ? '' : `${signedMs(row.addedP50Ms)} ms`} |`,
    )
  }
  const memory = results.memory
    ? results.memory
        .map(
          (r) =>
            `\`${r.name}\` +${r.growthMb.toFixed(1)} MB after ${r.sent.toLocaleString('en')} distinct bad credentials (bound: ${r.bound})`,
        )
        .join('; ')
    : ''
  return `## Performance

Throughput relative to bare Express 5 measured in the same round (median of ${results.config.rounds} interleaved rounds), the server's CPU time per request over ${results.config.cpuRequests.toLocaleString('en')} requests (user + system, as the OS counts it) and what that adds over bare Express, and the latency a request gains at one connection. Measured on ${machineLine(results)}.

![Throughput relative to bare Express](bench/results/chart.svg)

${lines.join('\n')}

Beside the hand-written SHA-256 + \`timingSafeEqual\` check, same run:

${handwrittenLines(results.handwritten)}

The full table (req/s, p50/p99, peers, per-round spread, memory) and the method are in [bench/RESULTS.md](bench/RESULTS.md). ${memory ? `Memory under a flood: ${memory}.` : ''} Run it yourself with \`npm run bench\`.
`
}

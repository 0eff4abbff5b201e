import type { LoadResult } from './load.js'
import type { Machine } from './machine.js'
import type { MemoryReport } from './memory.js'
import type { ScenarioGroup } from './scenarios.js'

/** How a run was configured (defaults, or the BENCH_* environment variables). */
export interface BenchConfig {
  rounds: number
  /** Throughput measurement per row per round, s. */
  seconds: number
  /** Discarded warm-up before each throughput measurement, s. */
  warmupSeconds: number
  /** Latency measurement (one connection) per row per round, s. */
  latencySeconds: number
  /** Connections of the throughput measurement. */
  connections: number
  /** Load each server gets once before the first round, s (JIT warm-up). */
  preheatSeconds: number
  /** Most tries of a run disturbed by other processes. */
  attempts: number
  /** Load generator pinned to CPU 0, servers to CPU 1. */
  pin: boolean
  /** Requests of the fixed-count CPU run per row per round (0: not run). */
  cpuRequests: number
  /** The longest a fixed-count CPU run may take, s (a row bound by PBKDF2 stops short of the count). */
  cpuMaxSeconds: number
  /** Only some rows were run (BENCH_ONLY): results go to `bench/results/partial/`. */
  partial: boolean
  /** The longest wait for the other processes on the machine to go quiet before a run, s. */
  quietWaitSeconds: number
}

/** Server CPU over a fixed number of requests: the figure a noisy machine disturbs least. */
export interface CpuCount {
  /** Answers received (the fixed count, unless the run hit its time limit). */
  responses: number
  /** Server process CPU time, user + system, all threads, from before the first request until it was idle again, µs. */
  micros: number
  /** `micros / responses`. */
  perRequestUs: number
}

/** A load run, with how much other processes disturbed it. */
export type QuietResult = LoadResult & {
  /** Cores' worth of CPU used by other processes during the kept attempt. */
  foreignCores: number
  /** Tries it took (a disturbed run is repeated). */
  attempts: number
}

/** One row measured once: throughput at `connections`, latency at one connection. */
export interface Measurement {
  scenario: string
  round: number
  throughput: QuietResult
  latency: QuietResult
  /** Server process CPU time (all threads) per answer during the throughput run, µs. */
  cpuPerRequest: number
  /** The fixed-count CPU run (absent when BENCH_CPU_REQUESTS=0). */
  cpuCount?: CpuCount & { foreignCores: number; attempts: number }
}

/** A row of the table: medians over the rounds of figures taken relative to the same round's bare runs. */
export interface Row {
  id: string
  label: string
  group: ScenarioGroup
  /** 2xx/s ÷ the mean 2xx/s of the bare runs just before and after it, median over rounds. */
  ratio: number
  /** The per-round ratios the median was taken from. */
  ratios: number[]
  okPerSecond: number
  /** Latency at one connection, ms. */
  p50Ms: number
  p99Ms: number
  /** p50/p99 minus those of the neighbouring bare runs, ms. */
  addedP50Ms: number
  addedP99Ms: number
  /** Server CPU time (all its threads) per answer of the throughput run, µs, and that minus the bare runs'. */
  cpuPerRequestUs: number
  addedCpuUs: number
  /**
   * Server CPU time (user + system, all threads) per request of the fixed-count run, µs, median
   * over rounds, and the same minus the mean of the bare runs right before and after it.
   */
  countedCpuUs: number
  addedCountedCpuUs: number
  /** The per-round added CPU figures the median was taken from. */
  addedCountedCpuRounds: number[]
  /** Share of non-2xx answers under load (e.g. 503 when PBKDF2 is at its bound). */
  non2xxShare: number
  /** Answers by status under load, all rounds together. */
  statuses: Record<string, number>
  /** The server's own counters after the run (cache hits, hashes refused ...). */
  stats: Record<string, number>
  /**
   * Time the middleware adds to a request, from entering it to its `next()`, measured inside one
   * server that mounts every row (bench/in-situ-server.ts), µs: p50 and mean, median over rounds,
   * minus the same figure for an empty chain (the timing's own cost; 0 for bare).
   */
  inSituP50Us: number
  inSituMeanUs: number
}

/** One measured figure beside the figure it is compared with. */
export interface ThresholdCheck {
  name: string
  /** What it is compared with, e.g. `≥ 0.97 × bare`. */
  reference: string
  measured: string
  /** The measured figure, the relation that holds, the reference figure: `0.78 < 0.97`. */
  relation: string
  holds: boolean
}

/**
 * A warm or cached keyward row beside the hand-written SHA-256 + `timingSafeEqual` check of the
 * same run: added server CPU per request against the check's × 1.3, throughput ratio against
 * the check's − 0.03.
 */
export interface HandwrittenComparison {
  id: string
  label: string
  addedCpuUs: number
  handwrittenAddedCpuUs: number
  /** `handwrittenAddedCpuUs × 1.3`. */
  cpuBoundUs: number
  cpuWithin: boolean
  ratio: number
  handwrittenRatio: number
  /** `handwrittenRatio − 0.03`. */
  ratioBound: number
  ratioWithin: boolean
}

export interface BenchResults {
  machine: Machine
  config: BenchConfig
  rows: Row[]
  thresholds: ThresholdCheck[]
  handwritten: HandwrittenComparison[]
  memory: MemoryReport[] | undefined
  measurements: Measurement[]
  /** What the in-situ timing measures around an empty chain, µs (subtracted from every row). */
  inSituOverheadUs: number
  seconds: number
}

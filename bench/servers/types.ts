import type { RequestHandler } from 'express'
import type { BenchSetup } from '../setup.js'

/** What a scenario puts in front of the benchmark route. */
export interface Mounted {
  /** Middlewares run before the route's handler, in order. */
  middlewares: RequestHandler[]
  /** Counters read after a run (cache hits, hashes refused ...), to explain the figures. */
  stats?: () => Record<string, number>
}

/** Builds one scenario's middlewares from the run's shared credentials. */
export type BuildScenario = (setup: BenchSetup) => Promise<Mounted>

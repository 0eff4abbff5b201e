import type { KeywardError } from './errors.js'
import type { ObservabilityOptions } from './events.js'

/** Counters of a guard's caches. */
export interface GuardStats {
  hits: number
  misses: number
  refreshes: number
  failures: number
  [counter: string]: number
}

/** What every keyward middleware offers besides handling requests. */
export interface GuardControls {
  /**
   * Resolves once every dependency answers (key non-empty, store reachable, validator
   * reachable); rejects with a {@link KeywardError} saying what is wrong. Await it before
   * `listen()`, and use it in health checks.
   */
  ready(): Promise<void>
  /** Drops cached state: one tenant / token fingerprint, or everything. */
  invalidate(id?: string): void
  /** Cache counters. */
  stats(): GuardStats
}

/** Options every guard takes. */
export interface GuardOptions extends ObservabilityOptions {
  /**
   * `'respond'` (default): the guard answers refusals itself with `application/problem+json`.
   * `'next'`: it calls `next(err)` with the {@link KeywardError}, for your own error handler
   * (or `keywardErrorHandler()`).
   */
  onError?: 'respond' | 'next'
}

export type { KeywardError }

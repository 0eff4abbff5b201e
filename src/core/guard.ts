import type { KeywardError } from './errors.js'
import type { ObservabilityOptions } from './events.js'

/**
 * Counters every guard keeps; each request is counted once. Types rather than interfaces, so
 * that a guard's stats can go wherever a `Record<string, number>` is expected (a metrics sink).
 */
export type GuardStats = {
  /** Requests answered from a cached key list, record or verdict. */
  hits: number
  /** Requests that had to load it. */
  misses: number
  /** Re-reads: refresh-on-mismatch (worker, widget) or an expired verdict revalidated (bearer). */
  refreshes: number
  /** Loads or validations that could not decide. */
  failures: number
}

/** `requireWorkerKey`'s counters. */
export type WorkerKeyStats = GuardStats & {
  /** Key lists cached (0 or 1). */
  size: number
  /** Failed resolves remembered for a second (0 or 1). */
  negativeSize: number
}

/** `verifyWidgetKey`'s counters: records, verified keys and PBKDF2 work. */
export type WidgetKeyStats = GuardStats & {
  /** Tenants whose records are cached. */
  size: number
  /** Unknown tenants remembered. */
  negativeSize: number
  verifiedHits: number
  verifiedMisses: number
  /** Keys remembered as matching a record. */
  verifiedSize: number
  /** Keys remembered as not matching. */
  mismatchedSize: number
  hashesInFlight: number
  hashesPeak: number
  /** Derivations run. */
  hashes: number
  /** Derivations refused by either bound (503 `hashing_overloaded`). */
  hashesRefused: number
  /** Of those, refused by a tenant's share (`maxHashesPerTenant`). */
  hashesRefusedTenant: number
  /** Tenants with a derivation in flight. */
  hashingTenants: number
}

/** `delegateBearerAuth`'s counters. */
export type BearerStats = GuardStats & {
  /** Stale verdicts served while the service was out (`staleIfError`). */
  stale: number
  /** Requests that shared another request's validation. */
  coalesced: number
  /** Validator calls. */
  validations: number
  /** Requests refused at once by the open circuit. */
  circuitRejections: number
  /** Verdicts cached. */
  size: number
  /** 1 while the circuit is open. */
  circuitOpen: number
  /** How often the circuit opened. */
  circuitOpens: number
}

/** What every keyward middleware offers besides handling requests. */
export interface GuardControls<S extends GuardStats = GuardStats> {
  /**
   * Resolves once every dependency answers (key non-empty, store reachable, validator
   * reachable); rejects with a {@link KeywardError} saying what is wrong. Await it before
   * `listen()`, and use it in health checks.
   */
  ready(): Promise<void>
  /** Drops cached state: one tenant / token fingerprint, or everything. */
  invalidate(id?: string): void
  /** Cache counters. */
  stats(): S
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

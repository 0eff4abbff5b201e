/**
 * A clock for cache ages and timers' bookkeeping, in ms. Tests inject one to move time without
 * sleeping; production uses `performance` (monotonic: a wall-clock change never expires a cache).
 */
export interface Clock {
  now(): number
}

/**
 * A clock for cache ages and timers' bookkeeping, in ms. Tests inject one to move time without
 * sleeping; production uses `performance` (monotonic: a wall-clock change never expires a cache).
 */
export interface Clock {
  now(): number
}

/**
 * lru-cache options for a cache on `clock`. lru-cache reuses one reading of its clock for
 * `ttlResolution` ms (until a timer clears it); with a clock a test moves by hand, that reading
 * would outlive the move on a busy machine, so such a clock is read every time.
 */
export function lruClock(clock: Clock): { perf: Clock; ttlResolution?: number } {
  return clock === performance ? { perf: clock } : { perf: clock, ttlResolution: 0 }
}

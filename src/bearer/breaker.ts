import type { Clock } from '../core/resolver-cache.js'

/** Options of the circuit breaker in front of a token validator. */
export interface CircuitBreakerOptions {
  /**
   * Consecutive validator failures (errors, timeouts, bad answers) that open the circuit.
   * Default 5: enough to ignore a blip, few enough that an outage stops costing a timeout per
   * request within seconds.
   */
  threshold?: number
  /**
   * How long the circuit stays open before one probe request is let through, ms. Default 5000.
   * While open, requests get 503 at once (with `Retry-After`) instead of waiting for a timeout.
   */
  cooldown?: number
}

/** Whether a validator call may start now. */
export type Admission = { admitted: true; probe: boolean } | { admitted: false; retryAfterMs: number }

/** The circuit's state, as reported by `stats()`. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/**
 * Counts consecutive validator failures. At `threshold` the circuit opens: calls are refused at
 * once for `cooldown` ms, then exactly one probe is admitted; its success closes the circuit,
 * its failure opens it for another `cooldown`.
 */
export class CircuitBreaker {
  private failures = 0
  private openedAt: number | undefined
  private probing = false
  private opens = 0

  constructor(
    private readonly threshold: number,
    private readonly cooldown: number,
    private readonly clock: Clock,
  ) {}

  /** Asks to start a validator call. */
  admit(): Admission {
    if (this.openedAt === undefined) return { admitted: true, probe: false }
    const waited = this.clock.now() - this.openedAt
    if (waited < this.cooldown) return { admitted: false, retryAfterMs: this.cooldown - waited }
    // one probe at a time: a recovering service is not stampeded by everything queued meanwhile
    if (this.probing) return { admitted: false, retryAfterMs: 1000 }
    this.probing = true
    return { admitted: true, probe: true }
  }

  /** The validator answered (yes or no): the service works. */
  success(): void {
    this.failures = 0
    this.openedAt = undefined
    this.probing = false
  }

  /** The validator could not decide. */
  failure(): void {
    this.failures++
    if (this.probing || this.failures >= this.threshold) {
      if (this.openedAt === undefined || this.probing) this.opens++
      this.openedAt = this.clock.now()
      this.probing = false
    }
  }

  /**
   * A call ended without telling us anything about the service (our own misconfiguration, or
   * every client gave up): release the probe slot without changing the count.
   */
  abandon(): void {
    this.probing = false
  }

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed'
    return this.probing ? 'half-open' : 'open'
  }

  /** How many times the circuit has opened. */
  get openCount(): number {
    return this.opens
  }
}

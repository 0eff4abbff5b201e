import type { Clock } from '../core/clock.js'

/** Options of the circuit breaker in front of a token validator. */
export interface CircuitBreakerOptions {
  /**
   * How many distinct tokens must have met a failure of the service itself (connection error,
   * timeout, 5xx) within `window` before the circuit opens. Default 5: enough to ignore a blip,
   * few enough that an outage stops costing a timeout per request within seconds. One token
   * failing again and again counts once.
   */
  threshold?: number
  /**
   * How long the circuit stays open before probes are let through, ms. Default 5000. While
   * open, requests get 503 at once (with `Retry-After`) instead of waiting for a timeout.
   */
  cooldown?: number
  /**
   * How long a failure is remembered, ms. Default 10 000. Any success forgets every failure.
   */
  window?: number
}

/** Whether a validator call may start now. */
export type Admission = { admitted: true; probe: boolean } | { admitted: false; retryAfterMs: number }

/** The circuit's state, as reported by `stats()`. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/**
 * A failure of the service, as the breaker weighs it. `corroborated` is true when the token's
 * content cannot have caused it: the request failed before the token was sent (connection
 * refused, connect timeout, JWKS unreachable), or the token is one the service accepted before.
 */
export interface ServiceFailure {
  /** The token's digest: failures are counted per distinct token. */
  token: string
  corroborated: boolean
}

interface Remembered {
  at: number
  corroborated: boolean
}

/**
 * Opens when `threshold` distinct tokens met a service failure within `window` and at least one
 * of those failures is corroborated; any success closes it. While open, calls are refused for
 * `cooldown` ms; then one probe at a time is admitted: a success closes the circuit, a
 * corroborated failure opens it for another `cooldown`, any other failure only frees the slot.
 *
 * Why corroboration: an auth service whose token parser answers 500 (or hangs) on crafted input
 * lets anyone produce as many distinct failing tokens as they like, so counting distinct tokens
 * only bounds the attack. Junk tokens alone can therefore never open the circuit nor keep it
 * open: that takes a failure the caller's token cannot explain — one that happened before the
 * token was sent, or one of a token the service has accepted before, which an attacker cannot
 * craft. A real outage fails both kinds, so it still opens the circuit.
 */
export class CircuitBreaker {
  private readonly failures = new Map<string, Remembered>()
  private openedAt: number | undefined
  private probing = false
  private opens = 0

  constructor(
    private readonly threshold: number,
    private readonly cooldown: number,
    private readonly window: number,
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

  /** The service answered (yes or no about the token): it works. */
  success(): void {
    this.failures.clear()
    this.openedAt = undefined
    this.probing = false
  }

  /** The service itself failed (connection error, timeout, 5xx). */
  failure(failure: ServiceFailure, probe: boolean): void {
    const now = this.clock.now()
    if (probe) {
      this.probing = false
      if (failure.corroborated) this.open(now, true)
      return
    }
    if (this.openedAt !== undefined) return
    this.forgetOlderThan(now - this.window)
    const known = this.failures.get(failure.token)
    this.failures.delete(failure.token)
    this.failures.set(failure.token, {
      at: now,
      corroborated: failure.corroborated || known?.corroborated === true,
    })
    // memory stays O(threshold) however many distinct tokens fail: drop the oldest
    // uncorroborated one, since corroborated failures are what can open the circuit
    if (this.failures.size > this.threshold) {
      for (const [token, entry] of this.failures) {
        if (!entry.corroborated) {
          this.failures.delete(token)
          break
        }
      }
      if (this.failures.size > this.threshold) this.failures.delete(this.failures.keys().next().value!)
    }
    if (this.failures.size < this.threshold) return
    for (const entry of this.failures.values()) {
      if (entry.corroborated) {
        this.open(now, false)
        return
      }
    }
  }

  /**
   * A call ended without telling us anything about the service (a refusal of this request such
   * as 400/429, our own misconfiguration, or every client gave up): free the probe slot.
   */
  abandon(probe: boolean): void {
    if (probe) this.probing = false
  }

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed'
    return this.probing ? 'half-open' : 'open'
  }

  /** How many times the circuit has opened. */
  get openCount(): number {
    return this.opens
  }

  private open(now: number, reopen: boolean): void {
    if (this.openedAt === undefined || reopen) this.opens++
    this.openedAt = now
    this.failures.clear()
  }

  private forgetOlderThan(limit: number): void {
    for (const [token, entry] of this.failures) if (entry.at <= limit) this.failures.delete(token)
  }
}

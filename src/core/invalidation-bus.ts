import { randomBytes } from 'node:crypto'
import type { InvalidationSource } from '../core/invalidation-source.js'
import { cannotDecide } from './cannot-decide.js'
import type { KeywardError } from './errors.js'
import type { KeywardLogger } from './events.js'
import { positiveNumber } from './options.js'

/*
 * What the Postgres and Redis invalidation buses share: their listeners, their counters, their
 * heartbeat, and how they describe a failure without repeating a driver's message (which can
 * name hosts and users).
 */

/** Counters of an invalidation bus. */
export interface InvalidationStats {
  /** Whether the bus is subscribed right now. */
  listening: boolean
  /** Messages received. */
  messages: number
  /** Times the bus subscribed again after losing its connection (each dropped every cache). */
  reconnects: number
  /** Failed connection or subscription attempts. */
  failures: number
  /**
   * Heartbeats that did not come back within `heartbeat` ms: each marked the bus down, dropped
   * every cached entry and made it reconnect.
   */
  missedHeartbeats: number
}

/**
 * The listeners of one invalidation bus, shared by the Postgres and Redis adapters: messages go
 * to every listener, an empty message means "drop everything", and one listener that throws
 * never keeps the others from hearing it.
 */
export class ListenerSet implements InvalidationSource {
  private readonly listeners = new Set<(id?: string) => void>()

  constructor(
    private readonly owner: string,
    private readonly logger: KeywardLogger | undefined,
    /** Called on the first `subscribe()`: buses connect only when someone listens. */
    private readonly onFirstSubscribe: () => void,
  ) {}

  subscribe(listener: (id?: string) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`${this.owner}: subscribe() takes a function (id?: string) => void`)
    }
    // a wrapper per call, so subscribing the same function twice gives two independent handles
    const entry = (id?: string) => listener(id)
    this.listeners.add(entry)
    this.onFirstSubscribe()
    return () => {
      this.listeners.delete(entry)
    }
  }

  /** Hands a message to every listener; `''` and `undefined` mean "drop everything". */
  dispatch(message: string | undefined): void {
    const id = message === undefined || message === '' ? undefined : message
    for (const listener of this.listeners) {
      try {
        if (id === undefined) listener()
        else listener(id)
      } catch (error) {
        // a cache that fails to drop an entry still has the TTL as its bound; tell the operator
        this.logger?.warn(
          { keyward: { bus: this.owner, error: error instanceof Error ? error.name : typeof error } },
          `keyward ${this.owner}: an invalidation listener threw`,
        )
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}

/** Only an error's class and code (SQLSTATE, errno), for logs: its message may name hosts and users. */
export function errorCode(error: unknown): { error?: string } {
  if (error === undefined) return {}
  const code = (error as { code?: unknown } | null)?.code
  const name = error instanceof Error ? error.name : typeof error
  return { error: typeof code === 'string' ? `${name} ${code}` : name }
}

/**
 * The error of a bus that cannot promise to hear invalidations (for `ready()`, so `healthCheck`
 * takes the instance out of rotation): 503 `auth_unavailable`, reason `invalidation_down`. It
 * names the driver's error by class and code only.
 */
export function busError(owner: string, what: string, cause?: unknown): KeywardError {
  const code = errorCode(cause).error
  return cannotDecide('invalidation_down', `${owner}: ${what}${code ? ` (${code})` : ''}`, {
    middleware: owner,
    cause,
  })
}

/**
 * How every heartbeat message starts. A tenant id is printable ASCII without spaces and a token
 * fingerprint is `kw_` and hex, so no invalidation can begin with this: listeners never see a
 * heartbeat, and a plain `NOTIFY channel, 'tenant-42'` (or PUBLISH) from any writer still works.
 */
export const HEARTBEAT_PREFIX = 'keyward heartbeat '

/** Whether a bus message is a heartbeat (this bus's or another instance's on the same channel). */
export function isHeartbeat(message: string | undefined): boolean {
  return message?.startsWith(HEARTBEAT_PREFIX) === true
}

/** Default `heartbeat`, ms: a deaf bus is noticed within 10 s, at one tiny message per 5 s. */
export const DEFAULT_HEARTBEAT = 5_000
/** Longest `heartbeat`, ms: a bus that takes longer to notice it is deaf protects nothing. */
const MAX_HEARTBEAT = 3_600_000

/** Validates the `heartbeat` option of a bus; it cannot be turned off. */
export function heartbeatOption(value: unknown, owner: string): number {
  if (value === undefined) return DEFAULT_HEARTBEAT
  if (value === false || value === 0 || value === null) {
    throw new TypeError(
      `${owner}: "heartbeat" cannot be turned off: a bus that cannot notice a dead connection lets ` +
        `revoked keys work until recordTtl; give a positive number of milliseconds (default ${DEFAULT_HEARTBEAT})`,
    )
  }
  const interval = positiveNumber(value, 'heartbeat', owner)
  if (interval > MAX_HEARTBEAT) {
    throw new TypeError(
      `${owner}: "heartbeat" must be at most ${MAX_HEARTBEAT} milliseconds (an hour); got ${interval}`,
    )
  }
  return interval
}

/**
 * Proves, every `interval` ms, that a bus still hears its channel: it sends a message that has
 * to come back, and calls `missed` when the previous one has not come back by the next beat
 * (so a dead link is noticed within two intervals). One timer, unref'd, running only between
 * `start()` and `stop()`.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined
  private awaiting: string | undefined
  private sequence = 0
  // tells this bus's beats from those of other instances on the same channel
  private readonly id = randomBytes(6).toString('hex')

  constructor(
    private readonly interval: number,
    /** Sends a beat; its rejection only means the beat will not come back. */
    private readonly send: (payload: string) => Promise<unknown>,
    private readonly missed: () => void,
  ) {}

  /** Starts beating (a no-op while running); the first beat goes out after one interval. */
  start(): void {
    if (this.timer !== undefined) return
    this.awaiting = undefined
    this.timer = setInterval(() => this.tick(), this.interval)
    // a heartbeat alone must not keep the process alive
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.awaiting = undefined
  }

  /**
   * Takes a message off the channel: true when it is a heartbeat (never an invalidation), and
   * when it is the beat this bus waits for, that beat has come back.
   */
  heard(message: string | undefined): boolean {
    if (!isHeartbeat(message)) return false
    if (message === this.awaiting) this.awaiting = undefined
    return true
  }

  private tick(): void {
    if (this.awaiting !== undefined) {
      this.stop()
      this.missed()
      return
    }
    const payload = `${HEARTBEAT_PREFIX}${this.id} ${++this.sequence}`
    this.awaiting = payload
    Promise.resolve()
      .then(() => this.send(payload))
      .catch(() => {
        // a beat that cannot be sent does not come back: the next tick says so
      })
  }
}

import type { InvalidationSource } from '../widget-key/verify-widget-key.js'
import type { KeywardLogger } from './events.js'

/*
 * What the Postgres and Redis invalidation buses share: their listeners, their counters, and
 * how they describe a failure without repeating a driver's message (which can name hosts and
 * users).
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

/** An error for `ready()` that says what failed and keeps the driver's error only as `cause`. */
export function busError(owner: string, what: string, cause?: unknown): Error {
  const code = errorCode(cause).error
  return new Error(
    `${owner}: ${what}${code ? ` (${code})` : ''}`,
    cause === undefined ? undefined : { cause },
  )
}

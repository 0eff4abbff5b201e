import { busError } from '../core/invalidation-bus.js'
import type { PgInvalidationOptions } from './invalidation.js'
import type { PgListenClient, PgPool, PgPoolClient } from './types.js'

const NAME = 'pgInvalidation'

/* Where the LISTEN connection comes from: a pool, a lone client, or a `connect` function. */

/** How LISTEN connections are obtained and given back, for each kind of `client`/`connect`. */
export interface ClientSource {
  acquire(): Promise<PgListenClient>
  /** Gives back a client; `broken` = its connection is gone or unusable. */
  dispose(client: PgListenClient, broken: boolean): Promise<void>
  canReconnect: boolean
}

export function isPool(client: unknown): client is PgPool {
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof (client as PgPool).totalCount === 'number' &&
    typeof (client as PgPool).connect === 'function'
  )
}

export function clientSource(options: PgInvalidationOptions): ClientSource {
  const { client, connect } = options
  if ((client === undefined) === (connect === undefined)) {
    throw new TypeError(
      `${NAME}: give exactly one of "client" (a pg.Pool or a dedicated, connected pg.Client) and ` +
        '"connect" (a function returning a new connected pg.Client)',
    )
  }
  if (connect !== undefined) {
    if (typeof connect !== 'function') {
      throw new TypeError(
        `${NAME}: "connect" must be a function returning a promise of a connected pg.Client`,
      )
    }
    return {
      acquire: connect,
      dispose: async (made) => {
        await made.end?.()
      },
      canReconnect: true,
    }
  }
  if (isPool(client)) {
    return {
      acquire: () => client.connect(),
      dispose: async (lent, broken) => {
        // a broken client is destroyed rather than lent to the next caller
        ;(lent as PgPoolClient).release(broken || undefined)
      },
      canReconnect: true,
    }
  }
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.query !== 'function' ||
    typeof client.on !== 'function'
  ) {
    throw new TypeError(`${NAME}: "client" must be a pg.Pool or a connected pg.Client`)
  }
  let handedOut = false
  return {
    acquire: async () => {
      if (handedOut) throw busError(NAME, 'the lone pg client was already used and cannot reconnect')
      handedOut = true
      return client
    },
    // the caller's own client: we only stop using it
    dispose: async () => {},
    canReconnect: false,
  }
}

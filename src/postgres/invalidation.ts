import type { KeywardLogger } from '../core/events.js'
import {
  busError,
  errorCode,
  Heartbeat,
  heartbeatOption,
  type InvalidationStats,
  ListenerSet,
} from '../core/invalidation-bus.js'
import type { InvalidationSource } from '../core/invalidation-source.js'
import { optionNames, positiveNumber, refuseUnknownOptions } from '../core/options.js'
import { clientSource, isPool } from './client-source.js'
import { channelName } from './identifiers.js'
import type { InvalidationTriggerOptions } from './trigger.sql.js'
import { triggerCheck } from './trigger-check.js'
import type { PgListenClient, PgNotification, PgPool } from './types.js'

const NAME = 'pgInvalidation'
/** Longest close() waits for UNLISTEN, ms. */
const CLOSE_TIMEOUT = 1_000

/** Options of {@link pgInvalidation}. Give `client` or `connect`. */
export interface PgInvalidationOptions {
  /**
   * Where the LISTEN connection comes from: a `pg.Pool` (one client is checked out and kept for
   * LISTEN; after it is lost, another is checked out), or a dedicated, connected `pg.Client`.
   * A lone client cannot be reconnected once its connection drops (a `pg.Client` is single-use):
   * invalidation then stops and cached records live out `recordTtl`. Prefer a pool or `connect`.
   */
  client?: PgPool | PgListenClient
  /**
   * Makes a new connected client, e.g. `async () => { const c = new pg.Client(url); await c.connect(); return c }`.
   * Called at start and after every lost connection; the clients it returns are ended by this
   * adapter when lost or closed.
   */
  connect?: () => Promise<PgListenClient>
  /**
   * The channel to `LISTEN` on; every `NOTIFY channel, 'tenant-id'` (or `pg_notify`) drops that
   * tenant's cached state, an empty payload drops everything. Lower case, because unquoted
   * `NOTIFY MyChannel` folds to `mychannel`. Payloads that start with `keyward heartbeat ` are
   * the bus's own heartbeats, never an invalidation (no tenant id contains a space).
   */
  channel: string
  /**
   * How often the bus proves it still hears the channel, ms. Default 5 000. Every `heartbeat` ms
   * it sends itself `pg_notify(channel, 'keyward heartbeat …')` over its LISTEN connection, so
   * the round trip crosses the very socket and LISTEN that invalidations arrive on. When a beat
   * has not come back by the next one (a half-open connection: a proxy that stopped forwarding,
   * NAT state dropped, a failover that left the socket open), the bus is down within two
   * intervals: it drops every cached entry at once, `ready()` rejects (`invalidation_down`, so
   * `healthCheck` takes the instance out of rotation), and it reconnects, dropping everything
   * again once listening. A connection attempt that has not LISTENed within twice this is
   * abandoned and retried.
   *
   * It cannot be turned off (`0` or `false` throw): a bus that cannot tell it has gone deaf lets
   * a revoked key work for the whole `recordTtl` while every probe says ok.
   */
  heartbeat?: number
  /** Wait before the first reconnection attempt, ms; doubles per failed attempt. Default 100. */
  reconnectDelay?: number
  /** Longest wait between reconnection attempts, ms. Default 5 000: a restarted database is found within seconds. */
  maxReconnectDelay?: number
  /** Told (`warn`) when the connection is lost and when it listens again; never a secret. */
  logger?: KeywardLogger
  /**
   * The trigger from `invalidationTriggerSql()` that this bus relies on, named by the same
   * `table`, `column` and `name` options (`{}` for its defaults). When given, `ready()` also
   * checks that both triggers exist, are enabled and notify this bus's `channel`: a trigger
   * dropped by a migration (or created for another channel) otherwise goes unnoticed while old
   * keys stay accepted for the whole `recordTtl`. Default: not checked.
   */
  trigger?: Pick<InvalidationTriggerOptions, 'table' | 'column' | 'name'>
}

/** A Postgres LISTEN/NOTIFY invalidation bus: pass it as `verifyWidgetKey({ invalidation })`. */
export interface PgInvalidation extends InvalidationSource {
  /** `'pgInvalidation'`: how `healthCheck` names it. */
  readonly name: 'pgInvalidation'
  /**
   * Resolves once the bus is LISTENing (connecting first if nothing has subscribed yet, and
   * rejecting if that first attempt fails). Once it has listened, it rejects at once whenever it
   * is not listening (connection lost, heartbeat missed, reconnecting): a 503 `KeywardError`
   * with reason `invalidation_down`. For start-up and `healthCheck`.
   */
  ready(): Promise<void>
  /**
   * Sends `pg_notify(channel, id)` through the pool (or the LISTEN connection), for writers that
   * do not use the trigger; no `id` drops every tenant.
   */
  publish(id?: string): Promise<void>
  /**
   * Stops listening (UNLISTEN, waiting at most a second), the heartbeat and reconnecting; ends
   * clients made by `connect`, returns a pool's client to it, and leaves a lone `client` open for
   * its owner.
   */
  close(): Promise<void>
  stats(): InvalidationStats
}

interface Connection {
  client: PgListenClient
  /** Set once the client was given back, so a loss seen twice (error, then end) gives it back once. */
  released: boolean
  /** Removes our listeners (an error listener stays on a lost client, so a late error cannot crash). */
  detach(keepErrorListener: boolean): void
}

/** A connection attempt that took longer than twice `heartbeat`. */
class ConnectTimeoutError extends Error {
  override readonly name = 'ConnectTimeoutError'
}

const OPTION_NAMES = optionNames<PgInvalidationOptions>()(
  'client',
  'connect',
  'channel',
  'heartbeat',
  'reconnectDelay',
  'maxReconnectDelay',
  'logger',
  'trigger',
)

/**
 * Push invalidation over Postgres LISTEN/NOTIFY. Any writer, in any language, drops a tenant's
 * cached records on every instance with `NOTIFY channel, 'tenant-id'`, or automatically with
 * the trigger from `invalidationTriggerSql()`.
 *
 * A lost connection is reconnected with backoff; once LISTENing again, every listener is called
 * with no id (drop everything), because a NOTIFY sent while disconnected is lost without a trace.
 * A connection that stays open but stops delivering is found by the `heartbeat`: the bus drops
 * everything, reports itself down in `ready()` and reconnects.
 *
 * @throws TypeError for an invalid option.
 */
export function pgInvalidation(options: PgInvalidationOptions): PgInvalidation {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${NAME}: pass an options object such as { client: pool, channel: 'keyward_invalidation' }`,
    )
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const channel = channelName(options.channel, NAME)
  const source = clientSource(options)
  const reconnectDelay = positiveNumber(options.reconnectDelay ?? 100, 'reconnectDelay', NAME)
  const maxReconnectDelay = positiveNumber(options.maxReconnectDelay ?? 5_000, 'maxReconnectDelay', NAME)
  const heartbeatInterval = heartbeatOption(options.heartbeat, NAME)
  const { logger } = options
  const pool = isPool(options.client) ? options.client : undefined
  if (options.trigger !== undefined && (typeof options.trigger !== 'object' || options.trigger === null)) {
    throw new TypeError(
      `${NAME}: "trigger" must be the { table, column, name } given to invalidationTriggerSql() ({} for its defaults)`,
    )
  }
  const expectedTrigger = options.trigger

  let state: 'idle' | 'connecting' | 'listening' | 'waiting' | 'stopped' | 'closed' = 'idle'
  let current: Connection | undefined
  let everListened = false
  let attempts = 0
  /** Bumped by every attempt (and by close()): an attempt that is no longer the latest gives up. */
  let attemptId = 0
  let retryTimer: NodeJS.Timeout | undefined
  let waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = []
  const counters = { messages: 0, reconnects: 0, failures: 0, missedHeartbeats: 0 }

  // read through a function: TypeScript would otherwise keep the narrowing across awaits
  const closed = () => state === 'closed'
  const warn = (event: string, msg: string, error?: unknown) =>
    logger?.warn({ keyward: { bus: NAME, channel, event, ...errorCode(error) } }, `keyward ${NAME}: ${msg}`)

  const start = () => {
    if (state === 'idle') void connectOnce()
  }
  const listeners = new ListenerSet(NAME, logger, start)

  const settle = (error?: Error) => {
    const pending = waiters
    waiters = []
    for (const waiter of pending) error ? waiter.reject(error) : waiter.resolve()
  }

  // over the LISTEN connection itself: the beat crosses the socket invalidations arrive on
  const heartbeat = new Heartbeat(
    heartbeatInterval,
    async (payload) => {
      await current?.client.query('SELECT pg_notify($1, $2)', [channel, payload])
    },
    () => deaf(),
  )

  const deaf = () => {
    const connection = current
    if (state !== 'listening' || connection === undefined) return
    current = undefined
    counters.missedHeartbeats++
    warn(
      'heartbeat_missed',
      `a heartbeat on "${channel}" did not come back within ${heartbeatInterval} ms; dropping every ` +
        'cached entry and reconnecting',
    )
    retryLater()
    // whatever was sent since the link went deaf is lost, and a cache must not outlive that
    listeners.dispatch(undefined)
    void release(connection, true)
  }

  const connectOnce = async (): Promise<void> => {
    state = 'connecting'
    const id = ++attemptId
    const abandoned = () => attemptId !== id || closed()
    let connection: Connection | undefined
    let timer: NodeJS.Timeout | undefined
    // a black-holed network can hold a connect or a LISTEN forever: give up and retry instead
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConnectTimeoutError(`no LISTEN within ${2 * heartbeatInterval} ms`)),
        2 * heartbeatInterval,
      )
      timer.unref()
    })
    try {
      const acquiring = source.acquire()
      const client = await Promise.race([acquiring, deadline]).catch((error: unknown) => {
        // a client that arrives after the deadline is not used, but must be given back
        acquiring.then((late) => source.dispose(late, true)).catch(() => {})
        throw error
      })
      connection = attach(client)
      if (abandoned()) {
        await release(connection, !closed())
        return
      }
      current = connection
      await Promise.race([client.query(`LISTEN "${channel}"`), deadline])
      if (abandoned() || state !== 'connecting' || current !== connection) return
      state = 'listening'
      attempts = 0
      heartbeat.start()
      if (everListened) {
        counters.reconnects++
        warn(
          'resubscribed',
          `listening on "${channel}" again; dropping every cached entry, as NOTIFYs may have been missed`,
        )
        // only now: a NOTIFY sent before LISTEN took effect is lost, so caches must be re-read after it
        listeners.dispatch(undefined)
      }
      everListened = true
      settle()
    } catch (error) {
      if (abandoned()) return
      counters.failures++
      warn('connect_failed', `could not LISTEN on "${channel}"`, error)
      if (connection !== undefined && current === connection) current = undefined
      // not awaited: a connection that hangs must not hold up the next attempt
      if (connection !== undefined) void release(connection, true)
      settle(busError(NAME, `could not LISTEN on "${channel}"`, error))
      retryLater()
    } finally {
      clearTimeout(timer)
    }
  }

  const attach = (client: PgListenClient): Connection => {
    const onNotification = (message: PgNotification) => {
      if (message.channel !== channel || heartbeat.heard(message.payload)) return
      counters.messages++
      listeners.dispatch(message.payload)
    }
    const onError = (error: Error) => lost(connection, error)
    const onEnd = () => lost(connection, undefined)
    const connection: Connection = {
      client,
      released: false,
      detach(keepErrorListener) {
        client.removeListener('notification', onNotification)
        client.removeListener('end', onEnd)
        if (keepErrorListener) client.on('error', () => {})
        client.removeListener('error', onError)
      },
    }
    client.on('notification', onNotification)
    client.on('error', onError)
    client.on('end', onEnd)
    return connection
  }

  const lost = (connection: Connection, error: Error | undefined) => {
    if (current !== connection || state === 'closed') return
    current = undefined
    heartbeat.stop()
    const wasListening = state === 'listening'
    void release(connection, true)
    if (wasListening) {
      warn('disconnected', `the LISTEN connection on "${channel}" was lost`, error)
      retryLater()
    }
    // a loss during LISTEN itself is handled by connectOnce, whose query rejects
  }

  const release = async (connection: Connection, broken: boolean) => {
    if (connection.released) return
    connection.released = true
    connection.detach(broken)
    try {
      await source.dispose(connection.client, broken)
    } catch {
      // the connection is gone either way
    }
  }

  const retryLater = () => {
    if (state === 'closed') return
    if (!source.canReconnect) {
      state = 'stopped'
      warn(
        'stopped',
        `a lone pg client cannot reconnect: invalidation on "${channel}" has stopped, and cached records ` +
          'now live out recordTtl; pass a pool or connect() instead',
      )
      return
    }
    state = 'waiting'
    const delay = Math.min(reconnectDelay * 2 ** attempts, maxReconnectDelay)
    attempts++
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      if (state === 'waiting') void connectOnce()
    }, delay)
    // a reconnection timer alone must not keep the process alive
    retryTimer.unref()
  }

  const checkTrigger = expectedTrigger && triggerCheck(expectedTrigger, channel)
  const listening = () => {
    if (!checkTrigger) return Promise.resolve()
    const via = pool ?? current?.client
    return via ? checkTrigger(via) : Promise.resolve()
  }

  return {
    name: NAME,
    subscribe: (listener) => listeners.subscribe(listener),
    ready() {
      start()
      if (state === 'listening') return listening()
      if (state === 'closed') return Promise.reject(busError(NAME, 'closed'))
      if (state === 'stopped')
        return Promise.reject(busError(NAME, `the LISTEN connection on "${channel}" was lost`))
      // once it has listened, a bus between connections may have missed anything: it is down
      if (everListened)
        return Promise.reject(
          busError(NAME, `not listening on "${channel}" since its connection was lost; reconnecting`),
        )
      return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject })).then(listening)
    },
    async publish(id?: string) {
      if (id !== undefined && typeof id !== 'string') {
        throw new TypeError(`${NAME}: publish() takes a tenant id (string), or nothing to drop everything`)
      }
      const via = pool ?? current?.client
      if (via === undefined) throw busError(NAME, `not connected; cannot NOTIFY "${channel}"`)
      await via.query('SELECT pg_notify($1, $2)', [channel, id ?? ''])
    },
    async close() {
      if (state === 'closed') return
      state = 'closed'
      attemptId++
      heartbeat.stop()
      if (retryTimer !== undefined) clearTimeout(retryTimer)
      settle(busError(NAME, 'closed'))
      const connection = current
      current = undefined
      if (connection === undefined) return
      let broken = true
      let timer: NodeJS.Timeout | undefined
      try {
        // a connection that hangs (network partition) must not hold close() up: it is destroyed
        broken = await Promise.race([
          connection.client.query(`UNLISTEN "${channel}"`).then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT)
          }),
        ])
      } catch {
        // broken stays true: the client is destroyed rather than reused
      } finally {
        clearTimeout(timer)
      }
      await release(connection, broken)
    },
    stats() {
      return { listening: state === 'listening', ...counters }
    },
  }
}

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
import { optionNames, refuseUnknownOptions } from '../core/options.js'
import type {
  ClientEventListener,
  IoRedisSubscriber,
  NodeRedisMessageListener,
  NodeRedisSubscriber,
  RedisPublisher,
  RedisSubscriber,
} from './types.js'

const NAME = 'redisInvalidation'

/** Options of {@link redisInvalidation}. Give a `subscriber` (instances), a `publisher` (admin side), or both. */
export interface RedisInvalidationOptions {
  /**
   * A dedicated connection for SUBSCRIBE (it cannot run other commands while subscribed): with
   * the official client, `const subscriber = client.duplicate(); await subscriber.connect()`;
   * with ioredis, `redis.duplicate()`. Needed to `subscribe`.
   */
  subscriber?: RedisSubscriber
  /** Any connection, for `publish()`: the admin side's client. Needed to `publish`. */
  publisher?: RedisPublisher
  /**
   * The pub/sub channel. A message is a tenant id (or token fingerprint) whose cached state to
   * drop; an empty message drops everything. 1–256 printable characters. Messages that start
   * with `keyward heartbeat ` are the buses' own heartbeats, never an invalidation (no tenant id
   * or fingerprint contains a space).
   */
  channel: string
  /**
   * How often a subscribed bus proves it still hears the channel, ms. Default 5 000. With a
   * `publisher`, every `heartbeat` ms it PUBLISHes `keyward heartbeat …` on the channel and
   * waits for it on the subscriber: that proves the whole path an invalidation takes (the
   * server still has this subscription and the subscriber's socket still delivers). Without
   * one, it sends `PING` on the subscriber connection, which proves that socket both ways but
   * not the subscription itself: give instances a publisher too for the stronger check.
   *
   * When a beat has not come back by the next one (a half-open connection: a proxy that stopped
   * forwarding, NAT state dropped), the bus is down within two intervals: it drops every cached
   * entry at once, `ready()` rejects (`invalidation_down`, so `healthCheck` takes the instance out
   * of rotation) and the subscriber is made to reconnect (ioredis: `disconnect(true)`; the
   * official client, which has no reconnect call: `destroy()` then `connect()`, its
   * subscriptions kept); once subscribed again, everything is dropped again. With a publisher,
   * a publisher that cannot publish also marks the bus down: unproven is not healthy.
   *
   * It cannot be turned off (`0` or `false` throw): a bus that cannot tell it has gone deaf lets
   * a revoked key work for the whole `recordTtl` while every probe says ok.
   */
  heartbeat?: number
  /** Told (`warn`) when the subscription is lost and when it is back; never a secret. */
  logger?: KeywardLogger
}

/** A Redis pub/sub invalidation bus: pass it as `verifyWidgetKey({ invalidation })`. */
export interface RedisInvalidation extends InvalidationSource {
  /** `'redisInvalidation'`: how `healthCheck` names it. */
  readonly name: 'redisInvalidation'
  /** Sends `id` (or, without one, "drop everything") to every subscribed instance. Needs `publisher`. */
  publish(id?: string): Promise<void>
  /**
   * Resolves once the channel is subscribed (subscribing first if nothing has yet, and rejecting
   * if that first attempt fails). Once it has been subscribed, it rejects at once whenever it is
   * not (connection lost, heartbeat missed, client reconnecting): a 503 `KeywardError` with
   * reason `invalidation_down`. For start-up and `healthCheck`.
   */
  ready(): Promise<void>
  /**
   * Stops the heartbeat, unsubscribes (waiting at most a second) and removes this adapter's
   * listeners, its `error` listener included; the clients stay yours to close.
   */
  close(): Promise<void>
  stats(): InvalidationStats
}

const CHANNEL = /^[\x21-\x7e]{1,256}$/
/** Longest close() waits for UNSUBSCRIBE, ms. */
const CLOSE_TIMEOUT = 1_000

const OPTION_NAMES = optionNames<RedisInvalidationOptions>()(
  'subscriber',
  'publisher',
  'channel',
  'heartbeat',
  'logger',
)

/**
 * Push invalidation over Redis pub/sub, with the official `redis` client (v4+) or `ioredis`,
 * told apart by shape. Instances subscribe; the admin side calls `publish(tenantId)` after it
 * writes a record.
 *
 * Both clients reconnect by themselves. Once subscribed again, every listener is called with no
 * id (drop everything), because a message published while disconnected is lost without a trace.
 * A connection that stays open but stops delivering is found by the `heartbeat`: the bus drops
 * everything, reports itself down in `ready()` and makes the subscriber reconnect. An `error`
 * listener is attached to the subscriber, so a dropped connection never crashes the process.
 *
 * @throws TypeError for an invalid option.
 */
export function redisInvalidation(options: RedisInvalidationOptions): RedisInvalidation {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${NAME}: pass an options object such as { subscriber, publisher, channel: 'keyward' }`,
    )
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const { subscriber, publisher, logger } = options
  if (typeof options.channel !== 'string' || !CHANNEL.test(options.channel)) {
    throw new TypeError(`${NAME}: "channel" must be 1-256 printable ASCII characters without spaces`)
  }
  const channel = options.channel
  if (subscriber === undefined && publisher === undefined) {
    throw new TypeError(`${NAME}: give a "subscriber" (to receive), a "publisher" (to send), or both`)
  }
  if (
    publisher !== undefined &&
    (typeof publisher !== 'object' || typeof publisher?.publish !== 'function')
  ) {
    throw new TypeError(`${NAME}: "publisher" must be a redis or ioredis client (something with publish())`)
  }
  const client = subscriber === undefined ? undefined : recognise(subscriber)
  const heartbeatInterval = heartbeatOption(options.heartbeat, NAME)

  let started = false
  let closed = false
  let listening = false
  let subscribedOnce = false
  let inFlight = false
  let waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = []
  const counters = { messages: 0, reconnects: 0, failures: 0, missedHeartbeats: 0 }

  const warn = (event: string, msg: string, error?: unknown) =>
    logger?.warn({ keyward: { bus: NAME, channel, event, ...errorCode(error) } }, `keyward ${NAME}: ${msg}`)

  const settle = (error?: Error) => {
    const pending = waiters
    waiters = []
    for (const waiter of pending) error ? waiter.reject(error) : waiter.resolve()
  }

  const heartbeat = new Heartbeat(
    heartbeatInterval,
    publisher !== undefined
      ? (payload) => publisher.publish(channel, payload)
      : async (payload) => {
          const reply = await client?.subscriber.ping(payload)
          if (typeof reply === 'string') heartbeat.heard(reply)
        },
    () => deaf(),
  )

  const deaf = () => {
    if (closed || !listening || client === undefined) return
    listening = false
    counters.missedHeartbeats++
    warn(
      'heartbeat_missed',
      `a heartbeat on "${channel}" did not come back within ${heartbeatInterval} ms; dropping every ` +
        'cached entry and reconnecting the subscriber',
    )
    // whatever was published since the link went deaf is lost, and a cache must not outlive that
    listeners.dispatch(undefined)
    void reconnect(client)
  }

  // the client's own reconnection then resubscribes and emits 'ready', which flushes again
  const reconnect = async (recognised: RecognisedClient) => {
    try {
      if (recognised.kind === 'ioredis') {
        recognised.subscriber.disconnect(true)
        return
      }
      const official = recognised.subscriber
      // no reconnect call: a deaf socket is dropped, then the client connects again
      if (typeof official.destroy === 'function') official.destroy()
      else await official.disconnect?.()
      if (!closed && !official.isOpen) await official.connect()
    } catch (error) {
      if (closed) return
      counters.failures++
      warn('reconnect_failed', `could not reconnect the subscriber of "${channel}"`, error)
    }
  }

  const onMessage = (message: string) => {
    if (heartbeat.heard(message)) return
    counters.messages++
    listeners.dispatch(message)
  }
  const onNodeRedisMessage: NodeRedisMessageListener = (message, from) => {
    if (from === channel) onMessage(message)
  }
  const onIoRedisMessage = (from: string, message: string) => {
    if (from === channel) onMessage(message)
  }

  const subscribeNow = async () => {
    if (client === undefined) return
    inFlight = true
    try {
      if (client.kind === 'redis') await client.subscriber.subscribe(channel, onNodeRedisMessage)
      else await client.subscriber.subscribe(channel)
      if (closed) return
      listening = true
      heartbeat.start()
      if (subscribedOnce) {
        counters.reconnects++
        warn(
          'resubscribed',
          `subscribed to "${channel}" again; dropping every cached entry, as messages may have been missed`,
        )
        // only now: a message published before the subscription took effect is lost
        listeners.dispatch(undefined)
      }
      subscribedOnce = true
      settle()
    } catch (error) {
      if (closed) return
      counters.failures++
      warn('subscribe_failed', `could not subscribe to "${channel}"`, error)
      // the client reconnects by itself and emits 'ready', which subscribes again
      settle(busError(NAME, `could not subscribe to "${channel}"`, error))
    } finally {
      inFlight = false
    }
  }

  // both clients emit 'ready' on every (re)connection; the official client has resubscribed by
  // then, ioredis has sent SUBSCRIBE but may not have its answer: subscribing again (a no-op when
  // subscribed) and awaiting it puts the flush after the subscription, whichever client it is
  const onReady = () => {
    if (closed || (inFlight && !subscribedOnce)) return
    void subscribeNow()
  }
  const onLost = () => {
    if (listening)
      warn('disconnected', `the subscription to "${channel}" was lost; the client is reconnecting`)
    listening = false
    heartbeat.stop()
  }
  const onError = (error: unknown) => {
    if (listening) warn('disconnected', `the subscriber connection failed; the client is reconnecting`, error)
    listening = false
    heartbeat.stop()
  }
  const events: Array<[string, ClientEventListener]> = [
    ['ready', onReady],
    ['end', onLost],
    ['close', onLost],
    ['reconnecting', onLost],
    ['error', onError],
  ]
  if (client?.kind === 'ioredis') events.push(['message', onIoRedisMessage])

  const start = () => {
    if (started || closed || client === undefined) return
    started = true
    for (const [event, handler] of events) client.subscriber.on(event, handler)
    // a closed official client cannot take SUBSCRIBE; its 'ready' (after connect()) will
    if (client.kind === 'ioredis' || client.subscriber.isOpen) void subscribeNow()
  }
  const listeners = new ListenerSet(NAME, logger, start)

  return {
    name: NAME,
    subscribe(listener) {
      if (client === undefined) {
        throw new TypeError(
          `${NAME}: subscribe() needs a "subscriber" client; this bus was made with a publisher only`,
        )
      }
      return listeners.subscribe(listener)
    },
    async publish(id?: string) {
      if (publisher === undefined) {
        throw new TypeError(
          `${NAME}: publish() needs a "publisher" client; this bus was made with a subscriber only`,
        )
      }
      if (id !== undefined && typeof id !== 'string') {
        throw new TypeError(`${NAME}: publish() takes a tenant id (string), or nothing to drop everything`)
      }
      await publisher.publish(channel, id ?? '')
    },
    ready() {
      if (client === undefined) return Promise.resolve()
      if (closed) return Promise.reject(busError(NAME, 'closed'))
      start()
      if (listening) return Promise.resolve()
      // once subscribed, a bus between connections may have missed anything: it is down
      if (subscribedOnce)
        return Promise.reject(
          busError(NAME, `not subscribed to "${channel}" since its connection was lost; reconnecting`),
        )
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }))
    },
    async close() {
      if (closed) return
      closed = true
      listening = false
      heartbeat.stop()
      settle(busError(NAME, 'closed'))
      if (client === undefined || !started) return
      for (const [event, handler] of events) client.subscriber.removeListener(event, handler)
      // a closed client would queue UNSUBSCRIBE forever, and it has no subscription left anyway
      const open = client.kind === 'redis' ? client.subscriber.isOpen : client.subscriber.status !== 'end'
      if (!open) return
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          client.kind === 'redis'
            ? client.subscriber.unsubscribe(channel, onNodeRedisMessage)
            : client.subscriber.unsubscribe(channel),
          // nor may a connection that is down hold close() up
          new Promise((resolve) => {
            timer = setTimeout(resolve, CLOSE_TIMEOUT)
          }),
        ])
      } catch {
        // a broken connection has no subscription left to end
      } finally {
        clearTimeout(timer)
      }
    },
    stats() {
      return { listening, ...counters }
    },
  }
}

type RecognisedClient =
  | { kind: 'redis'; subscriber: NodeRedisSubscriber }
  | { kind: 'ioredis'; subscriber: IoRedisSubscriber }

/** The official client has `isOpen`, ioredis has `status`: their subscribe() signatures differ. */
function recognise(subscriber: RedisSubscriber): RecognisedClient {
  const shape = subscriber as Partial<NodeRedisSubscriber & IoRedisSubscriber>
  if (
    typeof shape === 'object' &&
    shape !== null &&
    typeof shape.subscribe === 'function' &&
    typeof shape.on === 'function' &&
    typeof shape.ping === 'function'
  ) {
    if (typeof shape.isOpen === 'boolean')
      return { kind: 'redis', subscriber: subscriber as NodeRedisSubscriber }
    if (typeof shape.status === 'string')
      return { kind: 'ioredis', subscriber: subscriber as IoRedisSubscriber }
  }
  throw new TypeError(
    `${NAME}: "subscriber" must be a client of the official redis package (v4+) or of ioredis, ` +
      'on a dedicated connection (e.g. client.duplicate())',
  )
}

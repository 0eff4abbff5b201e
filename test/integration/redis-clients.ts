import { Redis as IoRedis } from 'ioredis'
import { createClient } from 'redis'
import type { RedisPublisher, RedisSubscriber } from '../../src/redis/index.js'
import { REDIS_URL } from './services.js'

/** The two clients `redisInvalidation` supports, made the way their users make them. */
export type RedisClientKind = 'redis' | 'ioredis'

export interface RedisPair {
  kind: RedisClientKind
  publisher: RedisPublisher
  subscriber: RedisSubscriber
  /** Subscribes the subscriber connection to another channel, as an app sharing it would. */
  subscribeElsewhere(channel: string): Promise<void>
  close(): Promise<void>
}

/**
 * A publisher and a dedicated subscriber connection. `name` is set as the subscriber's CLIENT
 * name so a test can kill exactly that connection. `retryDelay` (ms) is how long the client waits
 * before reconnecting, so a test can publish while it is away.
 */
export async function redisPair(kind: RedisClientKind, name: string, retryDelay = 20): Promise<RedisPair> {
  if (kind === 'redis') {
    const publisher = createClient({ url: REDIS_URL })
    publisher.on('error', () => {})
    await publisher.connect()
    const subscriber = publisher.duplicate({ name, socket: { reconnectStrategy: () => retryDelay } })
    await subscriber.connect()
    return {
      kind,
      publisher,
      subscriber,
      subscribeElsewhere: (channel) => subscriber.subscribe(channel, () => {}),
      async close() {
        if (subscriber.isOpen) subscriber.destroy()
        if (publisher.isOpen) publisher.destroy()
      },
    }
  }
  const publisher = new IoRedis(REDIS_URL, { lazyConnect: true })
  await publisher.connect()
  const subscriber = new IoRedis(REDIS_URL, { connectionName: name, retryStrategy: () => retryDelay })
  return {
    kind,
    publisher,
    subscriber,
    subscribeElsewhere: async (channel) => {
      await subscriber.subscribe(channel)
    },
    async close() {
      subscriber.disconnect()
      publisher.disconnect()
    },
  }
}

/** An admin connection for CLIENT LIST / CLIENT KILL / PUBSUB. */
export async function redisAdmin() {
  const admin = createClient({ url: REDIS_URL })
  admin.on('error', () => {})
  await admin.connect()
  const subscriberIds = async (prefix: string) => {
    const list = String(await admin.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']))
    return list
      .split('\n')
      .map((line) => ({ id: /\bid=(\d+)/.exec(line)?.[1], name: /\bname=(\S*)/.exec(line)?.[1] }))
      .filter((client) => client.id !== undefined && client.name?.startsWith(prefix))
      .map((client) => client.id!)
  }
  return {
    /** Kills the pub/sub connections whose CLIENT name starts with `prefix`; returns how many. */
    async killSubscribers(prefix: string): Promise<number> {
      const ids = await subscriberIds(prefix)
      for (const id of ids) await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub', 'ID', id])
      return ids.length
    },
    /**
     * Kills those connections and publishes `message` in one transaction, so no client can
     * reconnect in between (the official client reconnects at once): the message is lost for
     * sure. Returns how many connections were killed and how many received the message.
     */
    async killSubscribersAndPublish(prefix: string, channel: string, message: string) {
      const ids = await subscriberIds(prefix)
      const transaction = admin.multi()
      for (const id of ids) transaction.addCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub', 'ID', id])
      transaction.addCommand(['PUBLISH', channel, message])
      const replies = await transaction.exec()
      return { killed: ids.length, received: Number(replies.at(-1)) }
    },
    /** How many connections are subscribed to `channel`. */
    async subscribers(channel: string): Promise<number> {
      const reply = (await admin.sendCommand(['PUBSUB', 'NUMSUB', channel])) as [string, number]
      return Number(reply[1])
    },
    close: async () => admin.destroy(),
  }
}

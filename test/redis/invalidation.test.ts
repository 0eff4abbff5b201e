import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RedisInvalidation, redisInvalidation } from '../../src/redis/index.js'
import { type RedisClientKind, type RedisPair, redisAdmin, redisPair } from '../integration/redis-clients.js'
import { REDIS_URL, requireServices, uniqueName } from '../integration/services.js'
import { recorder, until } from '../integration/wait.js'

const { skip } = await requireServices('redis')

describe.skipIf(skip).each(['redis', 'ioredis'] as RedisClientKind[])(
  'redisInvalidation with the %s client',
  (kind) => {
    let admin: Awaited<ReturnType<typeof redisAdmin>>
    const pairs: RedisPair[] = []
    const buses: RedisInvalidation[] = []

    beforeAll(async () => {
      admin = await redisAdmin()
    })
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((bus) => bus.close()))
      await Promise.all(pairs.splice(0).map((pair) => pair.close()))
    })
    afterAll(async () => {
      await admin?.close()
    })

    async function setup(options: { logger?: { warn(obj: object, msg?: string): void } } = {}) {
      const name = uniqueName(`kw_sub_${kind}`)
      const pair = await redisPair(kind, name)
      pairs.push(pair)
      const channel = uniqueName('kw:invalidate')
      const bus = redisInvalidation({
        publisher: pair.publisher,
        subscriber: pair.subscriber,
        channel,
        ...options,
      })
      buses.push(bus)
      return { pair, bus, channel, name }
    }

    it('hands each published tenant id to every listener, and publish() with no id as "drop everything"', async () => {
      const { bus } = await setup()
      const first = recorder()
      const second = recorder()
      bus.subscribe(first.listener)
      bus.subscribe(second.listener)
      await bus.ready()
      await bus.publish('tenant-42')
      await bus.publish()
      expect(await first.next()).toBe('tenant-42')
      expect(await first.next()).toBeUndefined()
      expect(await second.next()).toBe('tenant-42')
      expect(bus.stats()).toMatchObject({ listening: true, messages: 2, reconnects: 0 })
    })

    it('never hands a heartbeat message to listeners, and still hands on a plain PUBLISH from any writer', async () => {
      const { bus, pair, channel } = await setup()
      const heard = recorder()
      bus.subscribe(heard.listener)
      await bus.ready()
      // another instance's beat on the same channel: reserved, as no tenant id contains a space
      await pair.publisher.publish(channel, 'keyward heartbeat 0123456789ab 1')
      await pair.publisher.publish(channel, 'tenant-42')
      expect(await heard.next()).toBe('tenant-42')
      expect(heard.calls).toEqual(['tenant-42'])
      expect(bus.stats()).toMatchObject({ messages: 1, missedHeartbeats: 0 })
    })

    it('ignores other channels on the same connection, and stops calling a listener that unsubscribed', async () => {
      const { bus, pair } = await setup()
      const other = uniqueName('kw:other')
      await pair.subscribeElsewhere(other)
      const heard = recorder()
      const gone = recorder()
      bus.subscribe(heard.listener)
      bus.subscribe(gone.listener)()
      await bus.ready()
      await pair.publisher.publish(other, 'not-for-us')
      await bus.publish('for-us')
      expect(await heard.next()).toBe('for-us')
      expect(heard.calls).toEqual(['for-us'])
      expect(gone.calls).toEqual([])
    })

    it('resubscribes after CLIENT KILL, drops everything once subscribed again, then hears messages', async () => {
      const warnings: string[] = []
      const { bus, name, channel } = await setup({
        logger: { warn: (_obj, msg) => warnings.push(msg ?? '') },
      })
      const heard = recorder()
      // the flush must come after SUBSCRIBE took effect: a message published (or a record cached)
      // between the two would otherwise be missed
      const subscribedAtFlush: Promise<number>[] = []
      bus.subscribe((id) => {
        if (id !== undefined) return
        subscribedAtFlush.push(admin.subscribers(channel))
        void bus.publish('right-after-the-flush')
      })
      bus.subscribe(heard.listener)
      await bus.ready()
      expect(await admin.killSubscribers(name)).toBe(1)
      expect(await heard.next('the flush after resubscribing')).toBeUndefined()
      expect(await Promise.all(subscribedAtFlush)).toEqual([1])
      expect(await heard.next()).toBe('right-after-the-flush')
      expect(bus.stats()).toMatchObject({ listening: true, reconnects: 1 })
      expect(warnings.join('\n')).toMatch(/again/)
      await bus.publish('tenant-7')
      expect(await heard.next()).toBe('tenant-7')
    })

    it('close() unsubscribes and removes its listeners, and leaves the clients open', async () => {
      const { bus, pair, channel } = await setup()
      bus.subscribe(() => {})
      await bus.ready()
      expect(await admin.subscribers(channel)).toBe(1)
      await bus.close()
      expect(await admin.subscribers(channel)).toBe(0)
      expect(bus.stats().listening).toBe(false)
      await expect(bus.ready()).rejects.toThrow(/closed/)
      await pair.publisher.publish(channel, 'still works')
    })

    it('close() returns at once when the subscriber was closed first', async () => {
      const { bus, pair } = await setup()
      bus.subscribe(() => {})
      await bus.ready()
      await pair.close()
      const startedAt = performance.now()
      await bus.close()
      expect(performance.now() - startedAt).toBeLessThan(500)
    })

    it('needs a publisher to publish and a subscriber to subscribe', async () => {
      const { pair, channel } = await setup()
      const sender = redisInvalidation({ publisher: pair.publisher, channel })
      const receiver = redisInvalidation({ subscriber: pair.subscriber, channel })
      buses.push(sender, receiver)
      expect(() => sender.subscribe(() => {})).toThrow(/needs a "subscriber"/)
      await expect(receiver.publish('x')).rejects.toThrow(/needs a "publisher"/)
      const heard = recorder()
      receiver.subscribe(heard.listener)
      await receiver.ready()
      await sender.publish('from-the-admin-side')
      expect(await heard.next()).toBe('from-the-admin-side')
    })

    it('refuses a subscriber that is neither client, and an invalid channel', async () => {
      const { pair } = await setup()
      expect(() => redisInvalidation({ subscriber: {} as never, channel: 'c' })).toThrow(
        /official redis package.*ioredis/,
      )
      expect(() => redisInvalidation({ subscriber: pair.subscriber, channel: '' })).toThrow(/"channel"/)
      expect(() => redisInvalidation({ subscriber: pair.subscriber, channel: 'has space' })).toThrow(
        /"channel"/,
      )
      expect(() => redisInvalidation({ channel: 'c' })).toThrow(/"subscriber".*"publisher"/)
      for (const heartbeat of [0, false, null]) {
        expect(() =>
          redisInvalidation({ subscriber: pair.subscriber, channel: 'c', heartbeat: heartbeat as never }),
        ).toThrow(/"heartbeat" cannot be turned off/)
      }
      for (const heartbeat of [-1, Number.NaN, '5000', 3_600_001]) {
        expect(() =>
          redisInvalidation({ subscriber: pair.subscriber, channel: 'c', heartbeat: heartbeat as never }),
        ).toThrow(/"heartbeat" must be/)
      }
      expect(() => redisInvalidation({ publisher: {} as never, channel: 'c' })).toThrow(/"publisher"/)
    })
  },
)

describe.skipIf(skip)('redisInvalidation with an official client not connected yet', () => {
  it('subscribes once the client connects', async () => {
    const publisher = createClient({ url: REDIS_URL })
    await publisher.connect()
    const subscriber = publisher.duplicate()
    const channel = uniqueName('kw:late')
    const bus = redisInvalidation({ publisher, subscriber, channel })
    const heard = recorder()
    bus.subscribe(heard.listener)
    const ready = bus.ready()
    await subscriber.connect()
    await ready
    await bus.publish('tenant-late')
    expect(await heard.next()).toBe('tenant-late')
    expect(heard.calls).toEqual(['tenant-late'])
    await bus.close()
    subscriber.destroy()
    publisher.destroy()
    await until(() => !subscriber.isOpen, 'the subscriber to close')
  })
})

/**
 * A half-open bus connection: the link between an instance and its bus stops forwarding without
 * closing anything (a wedged proxy, dropped NAT state), so no error and no 'end' ever arrives.
 * The revocation's message is lost in it. The bus must notice within its heartbeat, drop every
 * cached record (so the revoked key is refused), report itself down so healthCheck takes the
 * instance out of rotation, and recover once the link does. The bus's client goes through a
 * real TCP proxy that the test pauses; the records are read from Postgres directly.
 */
import { Redis as IoRedis } from 'ioredis'
import pg from 'pg'
import { createClient } from 'redis'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { healthCheck } from '../../src/express/health-check.js'
import { createWidgetKey, formatHashRecord, KeywardError, verifyWidgetKey } from '../../src/index.js'
import { pgInvalidation, pgRecordResolver } from '../../src/postgres/index.js'
import { redisInvalidation } from '../../src/redis/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { type TcpProxy, tcpProxy } from '../helpers/tcp-proxy.js'
import { DATABASE_URL, REDIS_URL, requireServices, uniqueName } from '../integration/services.js'
import { recorder, until } from '../integration/wait.js'

const { skip } = await requireServices('postgres', 'redis')

/** The buses' heartbeat here, ms: a deaf bus is noticed within two of them. */
const HEARTBEAT = 200
/** How long a test waits for the bus to notice or recover, ms: generous, for a loaded machine. */
const WAIT = 10_000

interface Bus {
  ready(): Promise<void>
  subscribe(listener: (id?: string) => void): () => void
  close(): Promise<void>
  stats(): { listening: boolean; reconnects: number; missedHeartbeats: number }
}

interface Setup {
  bus: Bus
  /** Sends a tenant's message the way a writer does: straight to the server, not through the proxy. */
  announce(tenant: string): Promise<void>
  close(): Promise<void>
}

interface Variant {
  name: string
  /** The server the proxy forwards to. */
  target: string
  defaultPort: number
  make(proxiedUrl: string, channel: string): Promise<Setup>
}

/** `url` with its port replaced by the proxy's. */
function through(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String(proxy.port)
  return proxied.toString()
}

async function officialClient(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: () => 20 } })
  client.on('error', () => {})
  await client.connect()
  return client
}

function redisVariant(kind: 'redis' | 'ioredis', withPublisher: boolean): Variant {
  return {
    name: `redisInvalidation (${kind} client, heartbeat by ${withPublisher ? 'PUBLISH' : 'PING'})`,
    target: REDIS_URL,
    defaultPort: 6379,
    async make(proxiedUrl, channel) {
      const publisher = await officialClient(REDIS_URL)
      const subscriber =
        kind === 'redis'
          ? await officialClient(proxiedUrl)
          : new IoRedis(proxiedUrl, { retryStrategy: () => 20 }).on('error', () => {})
      const bus = redisInvalidation({
        subscriber,
        channel,
        heartbeat: HEARTBEAT,
        ...(withPublisher ? { publisher } : {}),
      })
      return {
        bus,
        announce: (tenant) => redisInvalidation({ publisher, channel }).publish(tenant),
        async close() {
          await bus.close()
          if (subscriber instanceof IoRedis) subscriber.disconnect()
          else if (subscriber.isOpen) subscriber.destroy()
          publisher.destroy()
        },
      }
    },
  }
}

const variants: Variant[] = [
  {
    name: 'pgInvalidation (LISTEN on a pg.Pool of one connection)',
    target: DATABASE_URL,
    defaultPort: 5432,
    async make(proxiedUrl, channel) {
      const pool = new pg.Pool({ connectionString: proxiedUrl, max: 1 })
      pool.on('error', () => {})
      const writer = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
      const bus = pgInvalidation({
        client: pool,
        channel,
        heartbeat: HEARTBEAT,
        reconnectDelay: 20,
        maxReconnectDelay: 200,
      })
      return {
        bus,
        announce: async (tenant) => {
          // a plain NOTIFY, as any writer in any language sends it
          await writer.query(`NOTIFY "${channel}", '${tenant}'`)
        },
        async close() {
          await bus.close()
          await writer.end()
          // the pool's last connection may still be waiting on the proxy: do not wait for it
          void pool.end().catch(() => {})
        },
      }
    },
  },
  redisVariant('redis', true),
  redisVariant('redis', false),
  redisVariant('ioredis', true),
  redisVariant('ioredis', false),
]

describe.skipIf(skip).each(variants)('a half-open link under $name', (variant) => {
  const table = uniqueName('kw_half_open')
  let store: pg.Pool
  let proxy: TcpProxy
  let setup: Setup | undefined

  beforeAll(async () => {
    store = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    await store.query(`CREATE TABLE ${table} (tenant_id text PRIMARY KEY, widget_api_key_hash text)`)
  })
  afterEach(async () => {
    await setup?.close()
    setup = undefined
    await proxy?.close()
  })
  afterAll(async () => {
    await store?.query(`DROP TABLE IF EXISTS ${table}`)
    await store?.end()
  })

  const readyRejects = async (bus: Bus) =>
    bus.ready().then(
      () => false,
      () => true,
    )

  describe.each(expressVersions)('with $name', ({ express }) => {
    it('notices within its heartbeat, refuses a key revoked during the outage, leaves rotation, and recovers with the link', async () => {
      const { hostname, port } = new URL(variant.target)
      proxy = await tcpProxy(Number(port || variant.defaultPort), hostname)
      const channel = uniqueName('kw_half_open')
      setup = await variant.make(through(variant.target, proxy), channel)
      const { bus, announce } = setup
      const tenant = uniqueName('tenant')
      const { key, record } = await createWidgetKey({ iterations: 1_000 })
      secret(key)
      await store.query(`INSERT INTO ${table} VALUES ($1, $2)`, [tenant, formatHashRecord(record, 'phc')])
      const guard = verifyWidgetKey({
        records: pgRecordResolver({ pool: store, table }),
        invalidation: bus,
        recordTtl: 600_000,
      })
      const heard = recorder()
      bus.subscribe(heard.listener)
      await bus.ready()
      const app = express()
      app.get('/widget', guard, (_req, res) => {
        res.json({ ok: true })
      })
      // each probe must see the bus as it is now: no reuse of an answer
      app.get('/health', healthCheck({ names: ['widget', 'bus'], cacheTtl: 1 }, guard, bus))
      const call = () => request(app).get('/widget').set('X-Tenant-Id', tenant).set('X-Widget-Key', key)
      await call().expect(200) // cached: from here on only the bus can end it before the TTL
      await request(app).get('/health').expect(200)

      proxy.pause()
      await store.query(`UPDATE ${table} SET widget_api_key_hash = NULL WHERE tenant_id = $1`, [tenant])
      await announce(tenant) // lost: it waits in the paused link
      await until(() => readyRejects(bus), 'ready() to reject while the link is deaf', WAIT)

      const error = await bus.ready().catch((e: unknown) => e)
      expect(KeywardError.is(error)).toBe(true)
      expect(error).toMatchObject({ status: 503, code: 'auth_unavailable', reason: 'invalidation_down' })
      const health = await request(app).get('/health').expect(503)
      expect(health.body.checks).toContainEqual(
        expect.objectContaining({
          name: 'bus',
          status: 'unavailable',
          code: 'auth_unavailable',
          reason: 'invalidation_down',
        }),
      )
      expect((await call()).status).toBe(401)
      // the premise: the message never arrived; the heartbeat's "drop everything" refused the key
      expect(heard.calls).toContain(undefined)
      expect(heard.calls).not.toContain(tenant)
      expect(bus.stats()).toMatchObject({ listening: false })
      expect(bus.stats().missedHeartbeats).toBeGreaterThanOrEqual(1)

      proxy.resume()
      await until(async () => !(await readyRejects(bus)), 'ready() to resolve once the link is back', WAIT)
      await request(app).get('/health').expect(200)
      expect((await call()).status).toBe(401)
      expect(bus.stats()).toMatchObject({ listening: true })
      expect(bus.stats().reconnects).toBeGreaterThanOrEqual(1)
      await announce('after-recovery')
      await until(() => heard.calls.includes('after-recovery'), 'a message after recovering', WAIT)
    })
  })
})

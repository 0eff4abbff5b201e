/**
 * The widget-platform example, end to end on real Postgres and Redis: admin API and two runtime
 * instances, in a schema of its own so it never meets another test's tables.
 */
import { readFile } from 'node:fs/promises'
import net, { type AddressInfo } from 'node:net'
import pg from 'pg'
import { createClient } from 'redis'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminApp, runtimeApp } from '../../examples/widget-platform/apps.js'
import { pgInvalidation } from '../../src/postgres/index.js'
import { redisInvalidation } from '../../src/redis/index.js'
import { secret } from '../helpers/secrets.js'
import { DATABASE_URL, REDIS_URL, requireServices, uniqueName } from './services.js'
import { until } from './wait.js'

const { skip } = await requireServices('postgres', 'redis')
const ADMIN = secret('example-admin-key-0123456789abcdef0123')

describe.skipIf(skip)('examples/widget-platform', () => {
  const schema = uniqueName('kw_example')
  const channel = 'keyward_widget_keys'
  let pool: pg.Pool
  let publisher: ReturnType<typeof createClient>
  const closers: Array<() => unknown> = []

  beforeAll(async () => {
    process.env.ADMIN_KEY = ADMIN
    const setup = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
    await setup.query(`CREATE SCHEMA ${schema}`)
    await setup.end()
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 6, options: `-c search_path=${schema}` })
    await pool.query(
      await readFile(new URL('../../examples/widget-platform/schema.sql', import.meta.url), 'utf8'),
    )
    publisher = createClient({ url: REDIS_URL })
    await publisher.connect()
  })
  afterAll(async () => {
    for (const close of closers) await close()
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await pool?.end()
    publisher?.destroy()
    delete process.env.ADMIN_KEY
  })

  async function platform(bus: 'redis' | 'postgres', admin: Partial<Parameters<typeof adminApp>[0]> = {}) {
    const redisChannel = uniqueName('kw:example')
    const runtimes = await Promise.all(
      [1, 2].map(async (n) => {
        let invalidation: ReturnType<typeof pgInvalidation> | ReturnType<typeof redisInvalidation>
        if (bus === 'postgres') invalidation = pgInvalidation({ client: pool, channel })
        else {
          const subscriber = publisher.duplicate()
          await subscriber.connect()
          closers.push(() => subscriber.destroy())
          invalidation = redisInvalidation({ subscriber, channel: redisChannel })
        }
        closers.unshift(() => invalidation.close())
        const { app } = runtimeApp({ pool, invalidation, name: `runtime-${n}` })
        await invalidation.ready()
        return request(app)
      }),
    )
    const announce = bus === 'redis' ? redisInvalidation({ publisher, channel: redisChannel }) : undefined
    const adminRequest = request(
      adminApp({ pool, iterations: 1_000, ...(announce ? { announce } : {}), ...admin }),
    )
    const call = (runtime: (typeof runtimes)[number], tenant: string, key: string) =>
      runtime.get('/widget/config').set('X-Tenant-Id', tenant).set('X-Widget-Key', key)
    /** Every runtime answers `status` for the key, within a second (the bus's message may still be on its way). */
    const everywhere = (tenant: string, key: string, status: number) =>
      Promise.all(
        runtimes.map((runtime) =>
          until(
            async () => (await call(runtime, tenant, key)).status === status,
            `${status} for ${tenant}`,
            1_000,
          ),
        ),
      )
    const createKey = async (tenant: string) => {
      const res = await adminRequest
        .put(`/tenants/${tenant}/widget-key`)
        .set('X-Worker-Key', ADMIN)
        .expect(201)
      return secret(res.body.key as string)
    }
    return { runtimes, admin: adminRequest, call, everywhere, createKey, announce }
  }

  it('creates, rotates and revokes a key through the admin API, seen by both runtimes over Redis', async () => {
    const { runtimes, admin, call, everywhere, createKey } = await platform('redis')
    const first = await createKey('acme')
    for (const runtime of runtimes) await call(runtime, 'acme', first).expect(200)
    const second = await createKey('acme')
    // the new key works at once on both (refresh-on-mismatch if the message is not there yet)
    for (const runtime of runtimes) await call(runtime, 'acme', second).expect(200)
    await everywhere('acme', first, 401)
    await admin.delete('/tenants/acme/widget-key').set('X-Worker-Key', ADMIN).expect(204)
    await everywhere('acme', second, 401)
    for (const runtime of runtimes) {
      expect((await runtime.get('/health').expect(200)).body).toMatchObject({ status: 'ok' })
    }
    await admin.put('/tenants/acme/widget-key').expect(401)
  })

  it('drops a record changed behind the admin API, through the trigger, over Postgres', async () => {
    const { runtimes, call, everywhere, createKey } = await platform('postgres')
    const key = await createKey('globex')
    for (const runtime of runtimes) await call(runtime, 'globex', key).expect(200)
    await pool.query(`UPDATE tenant_settings SET widget_api_key_hash = NULL WHERE tenant_id = 'globex'`)
    await everywhere('globex', key, 401)
  })

  describe('with Redis down for the admin API', () => {
    /** A port nothing listens on: connections to it are refused at once. */
    async function closedPort(): Promise<number> {
      const server = net.createServer()
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const { port } = server.address() as AddressInfo
      await new Promise((resolve) => server.close(resolve))
      return port
    }

    /** Never connected (publish fails at once), or reconnecting (publish queues and never answers). */
    async function brokenPublisher(mode: 'never connected' | 'reconnecting') {
      const client = createClient({
        url: `redis://127.0.0.1:${await closedPort()}`,
        socket: { reconnectStrategy: () => 50, connectTimeout: 200 },
      })
      client.on('error', () => {})
      if (mode === 'reconnecting') client.connect().catch(() => {})
      closers.push(() => client.destroy())
      return client
    }

    const isJsonWithoutTrace = (res: request.Response) => {
      expect(res.type).toBe('application/json')
      expect(res.text).not.toMatch(/<(?:!doctype|html|pre)|\n\s+at /i)
    }

    it.each(['never connected', 'reconnecting'] as const)(
      'still hands over a rotated key, says it was not announced, and answers a revocation with 202 (publisher %s)',
      async (mode) => {
        const { runtimes, call, createKey } = await platform('redis')
        const first = await createKey('initech')
        for (const runtime of runtimes) await call(runtime, 'initech', first).expect(200)

        const publisher = await brokenPublisher(mode)
        const broken = request(
          adminApp({
            pool,
            iterations: 1_000,
            announce: redisInvalidation({ publisher, channel: uniqueName('kw:down') }),
            announceTimeout: 200,
          }),
        )
        const rotated = await broken.put('/tenants/initech/widget-key').set('X-Worker-Key', ADMIN)
        isJsonWithoutTrace(rotated)
        expect(rotated.status).toBe(201)
        const second = secret(rotated.body.key as string)
        expect(rotated.body).toMatchObject({ tenantId: 'initech', announced: false })
        expect(rotated.body.warning).toMatch(/could not be told.*recordTtl/)
        // stored, and usable at once on every runtime: a key that fails a cached record makes it re-read
        const { rows } = await pool.query(
          "SELECT widget_api_key_hash FROM tenant_settings WHERE tenant_id = 'initech'",
        )
        expect(rows[0]?.widget_api_key_hash).toMatch(/^\$pbkdf2-sha256\$/)
        for (const runtime of runtimes) await call(runtime, 'initech', second).expect(200)

        const revoked = await broken.delete('/tenants/initech/widget-key').set('X-Worker-Key', ADMIN)
        isJsonWithoutTrace(revoked)
        expect(revoked.status).toBe(202)
        expect(revoked.body).toMatchObject({ tenantId: 'initech', revoked: true, announced: false })
        expect(revoked.body.warning).toMatch(/Repeat the DELETE/)
      },
    )

    it('answers JSON, never a stack trace, when the database is down or the route unknown', async () => {
      const down = new pg.Pool({
        connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/test`,
        connectionTimeoutMillis: 500,
      })
      down.on('error', () => {})
      closers.push(() => down.end())
      const admin = request(adminApp({ pool: down, iterations: 1_000 }))
      const put = await admin.put('/tenants/acme/widget-key').set('X-Worker-Key', ADMIN)
      isJsonWithoutTrace(put)
      expect(put.status).toBe(503)
      expect(put.headers['retry-after']).toBe('5')
      expect(put.body).toMatchObject({ code: 'store_unavailable' })
      const unknown = await admin.get('/tenants/acme/widget-key/nope').set('X-Worker-Key', ADMIN)
      isJsonWithoutTrace(unknown)
      expect(unknown.status).toBe(404)
    })
  })
})

import pg from 'pg'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createWidgetKey, formatHashRecord, verifyWidgetKey } from '../../src/index.js'
import { type PgInvalidation, pgInvalidation, pgRecordResolver } from '../../src/postgres/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { DATABASE_URL, requireServices, uniqueName } from '../integration/services.js'
import { recorder, until } from '../integration/wait.js'

const { skip } = await requireServices('postgres')

describe.skipIf(skip)('pgInvalidation', () => {
  let admin: pg.Pool
  const buses: PgInvalidation[] = []
  const clients: pg.Client[] = []
  const pools: pg.Pool[] = []

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
  })
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()))
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})))
    await Promise.all(pools.splice(0).map((pool) => pool.end()))
  })
  afterAll(async () => {
    await admin?.end()
  })

  const notify = (channel: string, payload: string) =>
    admin.query('SELECT pg_notify($1, $2)', [channel, payload])
  // the LISTEN connection is found by its application_name: after a heartbeat its last query is no longer LISTEN
  const newClient = async (applicationName?: string) => {
    const client = new pg.Client({ connectionString: DATABASE_URL, application_name: applicationName })
    await client.connect()
    clients.push(client)
    return client
  }
  const newPool = (applicationName?: string) => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3, application_name: applicationName })
    pools.push(pool)
    return pool
  }
  const track = (bus: PgInvalidation) => {
    buses.push(bus)
    return bus
  }
  /**
   * Ends the LISTEN connection from the server side, as a failover or an idle-session killer
   * would; it is the one connection whose application_name is the channel.
   */
  const terminateListener = async (channel: string) => {
    const { rows } = await admin.query(
      'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [channel],
    )
    expect(rows.length).toBe(1)
  }

  it('hands each NOTIFY payload to every listener, and an empty payload as "drop everything"', async () => {
    const channel = uniqueName('kw_chan')
    const bus = track(pgInvalidation({ client: newPool(), channel }))
    const first = recorder()
    const second = recorder()
    bus.subscribe(first.listener)
    bus.subscribe(second.listener)
    await bus.ready()
    await notify(channel, 'tenant-42')
    await notify(channel, '')
    expect(await first.next()).toBe('tenant-42')
    expect(await first.next()).toBeUndefined()
    expect(await second.next()).toBe('tenant-42')
    expect(bus.stats()).toMatchObject({ listening: true, messages: 2, reconnects: 0 })
  })

  it('never hands a heartbeat payload to listeners, and still hands on a plain NOTIFY from any writer', async () => {
    const channel = uniqueName('kw_chan')
    const bus = track(pgInvalidation({ client: newPool(), channel }))
    const heard = recorder()
    bus.subscribe(heard.listener)
    await bus.ready()
    // another instance's beat on the same channel: reserved, as no tenant id contains a space
    await notify(channel, 'keyward heartbeat 0123456789ab 1')
    await admin.query(`NOTIFY "${channel}", 'tenant-42'`)
    expect(await heard.next()).toBe('tenant-42')
    expect(heard.calls).toEqual(['tenant-42'])
    expect(bus.stats()).toMatchObject({ messages: 1, missedHeartbeats: 0 })
  })

  it("ignores other channels the caller's own client listens on, and stops on unsubscribe", async () => {
    const channel = uniqueName('kw_chan')
    const other = uniqueName('kw_other')
    const client = await newClient()
    await client.query(`LISTEN "${other}"`)
    const bus = track(pgInvalidation({ client, channel }))
    const heard = recorder()
    const gone = recorder()
    bus.subscribe(heard.listener)
    const unsubscribe = bus.subscribe(gone.listener)
    await bus.ready()
    unsubscribe()
    await notify(other, 'not-for-us')
    await notify(channel, 'for-us')
    expect(await heard.next()).toBe('for-us')
    expect(heard.calls).toEqual(['for-us'])
    expect(gone.calls).toEqual([])
  })

  it('reconnects after the LISTEN connection is terminated, drops everything once listening again, then hears messages', async () => {
    const channel = uniqueName('kw_chan')
    const warnings: string[] = []
    const bus = track(
      pgInvalidation({
        channel,
        connect: async () => {
          const client = new pg.Client({ connectionString: DATABASE_URL, application_name: channel })
          await client.connect()
          return client
        },
        logger: { warn: (_obj, msg) => warnings.push(msg ?? '') },
      }),
    )
    const heard = recorder()
    // a NOTIFY sent the moment the flush arrives must be heard: LISTEN is in place before it
    bus.subscribe((id) => {
      if (id === undefined) void notify(channel, 'right-after-the-flush')
    })
    bus.subscribe(heard.listener)
    await bus.ready()
    await terminateListener(channel)
    expect(await heard.next('the flush after reconnecting')).toBeUndefined()
    expect(await heard.next()).toBe('right-after-the-flush')
    expect(bus.stats()).toMatchObject({ listening: true, reconnects: 1 })
    expect(warnings.join('\n')).toMatch(/lost[\s\S]*again/)
    await notify(channel, 'tenant-7')
    expect(await heard.next()).toBe('tenant-7')
  })

  it('with a pool, checks out one client for LISTEN and another after that one is lost', async () => {
    const channel = uniqueName('kw_chan')
    const pool = newPool(channel)
    const bus = track(pgInvalidation({ client: pool, channel }))
    const heard = recorder()
    bus.subscribe(heard.listener)
    await bus.ready()
    expect(pool.totalCount - pool.idleCount).toBe(1)
    await terminateListener(channel)
    expect(await heard.next('the flush after reconnecting')).toBeUndefined()
    expect(pool.totalCount - pool.idleCount).toBe(1)
    await notify(channel, 'tenant-8')
    expect(await heard.next()).toBe('tenant-8')
    await bus.close()
    expect(pool.totalCount - pool.idleCount).toBe(0)
  })

  it('with a lone client that is lost, stops without crashing and says so in ready()', async () => {
    const channel = uniqueName('kw_chan')
    const client = await newClient(channel)
    const bus = track(pgInvalidation({ client, channel }))
    bus.subscribe(() => {})
    await bus.ready()
    await terminateListener(channel)
    await until(() => !bus.stats().listening, 'the bus to notice the loss')
    await expect(bus.ready()).rejects.toThrow(/was lost/)
  })

  it('keeps retrying while the database cannot be reached; ready() rejects without naming the URL', async () => {
    let attempts = 0
    const bus = track(
      pgInvalidation({
        channel: uniqueName('kw_chan'),
        reconnectDelay: 10,
        connect: async () => {
          attempts++
          const client = new pg.Client({
            connectionString: 'postgres://nobody:hunter2-password@127.0.0.1:1/none',
          })
          await client.connect()
          return client
        },
      }),
    )
    const error = (await bus.ready().catch((e: unknown) => e)) as Error
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toMatch(/could not LISTEN.*ECONNREFUSED/)
    expect(error.message).not.toMatch(/hunter2|nobody/)
    await until(() => attempts >= 3, 'a few reconnection attempts')
    expect(bus.stats()).toMatchObject({ listening: false })
    expect(bus.stats().failures).toBeGreaterThanOrEqual(2)
  })

  it('close() stops listening and reconnecting, and returns the pool client', async () => {
    const channel = uniqueName('kw_chan')
    const pool = newPool()
    const bus = pgInvalidation({ client: pool, channel })
    const heard = recorder()
    bus.subscribe(heard.listener)
    await bus.ready()
    await bus.close()
    expect(bus.stats().listening).toBe(false)
    const witness = track(pgInvalidation({ client: newPool(), channel }))
    const seen = recorder()
    witness.subscribe(seen.listener)
    await witness.ready()
    await notify(channel, 'after-close')
    expect(await seen.next()).toBe('after-close')
    expect(heard.calls).toEqual([])
    expect(pool.totalCount - pool.idleCount).toBe(0)
    await expect(bus.ready()).rejects.toThrow(/closed/)
  })

  it('keeps telling the other listeners when one throws', async () => {
    const channel = uniqueName('kw_chan')
    const bus = track(pgInvalidation({ client: newPool(), channel }))
    const heard = recorder()
    bus.subscribe(() => {
      throw new Error('listener bug')
    })
    bus.subscribe(heard.listener)
    await bus.ready()
    await notify(channel, 'tenant-9')
    expect(await heard.next()).toBe('tenant-9')
  })

  it('publish() sends pg_notify on the channel, for writers without the trigger', async () => {
    const channel = uniqueName('kw_chan')
    const pool = newPool()
    const listener = track(pgInvalidation({ client: pool, channel }))
    const heard = recorder()
    listener.subscribe(heard.listener)
    await listener.ready()
    const writer = track(pgInvalidation({ client: newPool(), channel }))
    await writer.publish("tenant-'quoted'")
    await writer.publish()
    expect(await heard.next()).toBe("tenant-'quoted'")
    expect(await heard.next()).toBeUndefined()
  })

  it('refuses invalid options with a TypeError naming the option', async () => {
    const pool = newPool()
    expect(() => pgInvalidation({ client: pool, channel: 'MyChannel' })).toThrow(
      /"channel" must be a lower-case/,
    )
    expect(() => pgInvalidation({ client: pool, channel: 'bad-name' })).toThrow(/"channel"/)
    expect(() => pgInvalidation({ channel: 'ok' })).toThrow(/exactly one of "client"/)
    expect(() =>
      pgInvalidation({ client: pool, connect: async () => pool.connect(), channel: 'ok' }),
    ).toThrow(/exactly one/)
    expect(() => pgInvalidation({ client: {} as pg.Client, channel: 'ok' })).toThrow(/"client" must be/)
    expect(() => pgInvalidation({ client: pool, channel: 'ok', reconnectDelay: 0 })).toThrow(
      /"reconnectDelay"/,
    )
    for (const heartbeat of [0, false, null]) {
      expect(() => pgInvalidation({ client: pool, channel: 'ok', heartbeat: heartbeat as never })).toThrow(
        /"heartbeat" cannot be turned off/,
      )
    }
    for (const heartbeat of [-1, Number.NaN, '5000', 3_600_001]) {
      expect(() => pgInvalidation({ client: pool, channel: 'ok', heartbeat: heartbeat as never })).toThrow(
        /"heartbeat" must be/,
      )
    }
    expect(() => pgInvalidation({ client: pool, channel: 'ok' }).subscribe('x' as never)).toThrow(
      /subscribe\(\)/,
    )
  })

  describe.each(expressVersions)('with verifyWidgetKey ($name)', ({ express }) => {
    const table = uniqueName('kw_bus_records')
    beforeAll(async () => {
      await admin.query(`CREATE TABLE ${table} (tenant_id text PRIMARY KEY, widget_api_key_hash text)`)
    })
    afterAll(async () => {
      await admin.query(`DROP TABLE IF EXISTS ${table}`)
    })

    it('refuses a revoked key as soon as the NOTIFY arrives, long before the record TTL', async () => {
      const channel = uniqueName('kw_chan')
      const pool = newPool()
      const bus = track(pgInvalidation({ client: pool, channel }))
      const { key, record } = await createWidgetKey({ iterations: 1_000 })
      secret(key)
      await admin.query(`INSERT INTO ${table} VALUES ('acme', $1)`, [formatHashRecord(record, 'phc')])
      const guard = verifyWidgetKey({
        records: pgRecordResolver({ pool, table }),
        invalidation: bus,
        recordTtl: 600_000,
      })
      const heard = recorder()
      bus.subscribe(heard.listener) // after the guard's: by the time it hears, the guard has dropped the tenant
      await bus.ready()
      const app = express()
      app.get('/widget', guard, (_req, res) => {
        res.json({ ok: true })
      })
      const call = () => request(app).get('/widget').set('X-Tenant-Id', 'acme').set('X-Widget-Key', key)
      await call().expect(200)
      await admin.query(`UPDATE ${table} SET widget_api_key_hash = NULL WHERE tenant_id = 'acme'`)
      await call().expect(200) // cached: without a message, only the TTL would end this
      await notify(channel, 'acme')
      expect(await heard.next()).toBe('acme')
      expect((await call().expect(401)).body.code).toBe('invalid_credentials')
    })
  })
})

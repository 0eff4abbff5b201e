import pg from 'pg'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWidgetKey, type DecisionEvent, formatHashRecord, verifyWidgetKey } from '../../src/index.js'
import { pgRecordResolver } from '../../src/postgres/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { DATABASE_URL, requireServices, uniqueName } from '../integration/services.js'

const { skip } = await requireServices('postgres')

async function newKey() {
  const { key, record } = await createWidgetKey({ iterations: 1_000 })
  return { key: secret(key), record }
}

describe.skipIf(skip)('pgRecordResolver', () => {
  const table = uniqueName('kw_records')
  const uuidTable = uniqueName('kw_records_uuid')
  const keysTable = uniqueName('kw_widget_keys')
  let pool: pg.Pool

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    await pool.query(
      `CREATE TABLE ${table} (tenant_id text PRIMARY KEY, widget_api_key_hash jsonb, hash_text text,
         expires_at timestamptz, origins text[])`,
    )
    await pool.query(`CREATE TABLE ${uuidTable} (id uuid PRIMARY KEY, widget_api_key_hash text)`)
    await pool.query(
      `CREATE TABLE ${keysTable} (tenant_id text, record text, expires_at timestamptz, origins text[])`,
    )
  })
  afterAll(async () => {
    await pool?.query(`DROP TABLE IF EXISTS ${table}`)
    await pool?.query(`DROP TABLE IF EXISTS ${uuidTable}`)
    await pool?.query(`DROP TABLE IF EXISTS ${keysTable}`)
    await pool?.end()
  })

  const put = (tenant: string, json: string | null, text: string | null = null) =>
    pool.query(
      `INSERT INTO ${table} (tenant_id, widget_api_key_hash, hash_text) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (tenant_id) DO UPDATE SET widget_api_key_hash = $2::jsonb, hash_text = $3`,
      [tenant, json, text],
    )

  it('reads a record from a jsonb column as the object it holds', async () => {
    const { record } = await newKey()
    await put('jsonb-tenant', formatHashRecord(record, 'json'))
    const records = pgRecordResolver({ pool, table })
    expect(await records('jsonb-tenant')).toEqual(formatHashRecord(record, 'object'))
  })

  it('reads a record from a text column, as JSON text or as PHC', async () => {
    const { record } = await newKey()
    await put('text-json', null, formatHashRecord(record, 'json'))
    await put('text-phc', null, formatHashRecord(record, 'phc'))
    const records = pgRecordResolver({ pool, table, column: 'hash_text' })
    expect(await records('text-json')).toBe(formatHashRecord(record, 'json'))
    expect(await records('text-phc')).toBe(formatHashRecord(record, 'phc'))
  })

  it('answers null for an unknown tenant and for a tenant whose record is NULL', async () => {
    await put('no-key-yet', null)
    const records = pgRecordResolver({ pool, table })
    expect(await records('tenant-that-does-not-exist')).toBeNull()
    expect(await records('no-key-yet')).toBeNull()
  })

  it('passes the tenant id as a parameter, so an id with quotes reads only its own row', async () => {
    const { record } = await newKey()
    const tricky = `o'brien"; DROP TABLE ${table}; --`
    await put(tricky, formatHashRecord(record, 'json'))
    await put('someone-else', formatHashRecord((await newKey()).record, 'json'))
    const records = pgRecordResolver({ pool, table })
    expect(await records(tricky)).toEqual(formatHashRecord(record, 'object'))
    expect(await records("' OR '1'='1")).toBeNull()
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}`)
    expect(rows[0].n).toBeGreaterThanOrEqual(2)
  })

  it('treats a tenant id the tenant column cannot hold (not a uuid) as no such tenant, not as an outage', async () => {
    const { record } = await newKey()
    const id = '6f1c1e9a-3c1b-4a8e-9a55-2f0c6f1f0a11'
    await pool.query(`INSERT INTO ${uuidTable} VALUES ($1, $2)`, [id, formatHashRecord(record, 'phc')])
    const records = pgRecordResolver({ pool, table: `public.${uuidTable}`, tenantColumn: 'id' })
    expect(await records(id)).toBe(formatHashRecord(record, 'phc'))
    expect(await records('not-a-uuid')).toBeNull()
  })

  it('runs a custom query whose rows are a rotation grace period, with their deadlines and origins', async () => {
    const current = await newKey()
    const previous = await newKey()
    const deadline = new Date(Date.now() + 60_000)
    await pool.query(
      `INSERT INTO ${keysTable} VALUES ('grace-tenant', $1, NULL, NULL), ('grace-tenant', $2, $3, ARRAY['https://app.example'])`,
      [formatHashRecord(current.record, 'phc'), formatHashRecord(previous.record, 'phc'), deadline],
    )
    const records = pgRecordResolver({
      pool,
      query: `SELECT record, expires_at, origins FROM ${keysTable}
              WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > now()) ORDER BY expires_at NULLS FIRST`,
    })
    expect(await records('grace-tenant')).toEqual([
      formatHashRecord(current.record, 'phc'),
      {
        record: formatHashRecord(previous.record, 'phc'),
        expiresAt: deadline,
        origins: ['https://app.example'],
      },
    ])
  })

  it('reads a JSON array of records in one column as several records', async () => {
    const a = await newKey()
    const b = await newKey()
    await put(
      'two-in-one',
      JSON.stringify([formatHashRecord(a.record, 'object'), formatHashRecord(b.record, 'phc')]),
    )
    const records = pgRecordResolver({ pool, table })
    expect(await records('two-in-one')).toEqual([
      formatHashRecord(a.record, 'object'),
      formatHashRecord(b.record, 'phc'),
    ])
  })

  it('rejects when the query fails, so the guard answers 503 and never lets the request through', async () => {
    const records = pgRecordResolver({ pool, table: uniqueName('kw_missing_table') })
    await expect(records('any')).rejects.toMatchObject({ code: '42P01' })
  })

  it('refuses invalid options with a TypeError naming the option', () => {
    expect(() => pgRecordResolver({ pool, table: 'tenants; DROP TABLE x' })).toThrow(
      /"table" must be a Postgres identifier/,
    )
    expect(() => pgRecordResolver({ pool, column: '1st' })).toThrow(/"column" must be a Postgres identifier/)
    expect(() => pgRecordResolver({ pool, tenantColumn: 'a.b' })).toThrow(/"tenantColumn"/)
    expect(() => pgRecordResolver({ pool, table: 'a.b.c' })).toThrow(/"table"/)
    expect(() => pgRecordResolver({ pool, query: 'SELECT 1' })).toThrow(/\$1/)
    expect(() => pgRecordResolver({ pool, query: 'SELECT $1', table: 't' })).toThrow(/not both/)
    expect(() => pgRecordResolver({ pool: {} as pg.Pool })).toThrow(/"pool"/)
    expect(() => pgRecordResolver(undefined as never)).toThrow(TypeError)
  })

  describe.each(expressVersions)('as verifyWidgetKey({ records }) ($name)', ({ express }) => {
    function setup(records = pgRecordResolver({ pool, table })) {
      const events: DecisionEvent[] = []
      const guard = verifyWidgetKey({ records, onDecision: (event) => events.push(event) })
      const app = express()
      app.get('/widget/config', guard, (req, res) => {
        res.json({ auth: req.auth })
      })
      const call = (tenant: string, key: string) =>
        request(app).get('/widget/config').set('X-Tenant-Id', tenant).set('X-Widget-Key', key)
      return { guard, events, call }
    }

    it("accepts the tenant's key read from Postgres and refuses another", async () => {
      const right = await newKey()
      const wrong = await newKey()
      await put('acme', formatHashRecord(right.record, 'json'))
      const { call } = setup()
      expect((await call('acme', right.key).expect(200)).body.auth).toMatchObject({
        kind: 'widget',
        tenantId: 'acme',
      })
      expect((await call('acme', wrong.key).expect(401)).body.code).toBe('invalid_credentials')
    })

    it('accepts a rotated key at once: the mismatch re-reads the row', async () => {
      const before = await newKey()
      const after = await newKey()
      await put('rotating', formatHashRecord(before.record, 'json'))
      const { call, events } = setup()
      await call('rotating', before.key).expect(200)
      await put('rotating', formatHashRecord(after.record, 'json'))
      await call('rotating', after.key).expect(200)
      expect(events.at(-1)).toMatchObject({
        outcome: 'allow',
        reason: 'record_stale_refreshed',
        cache: 'refresh',
      })
    })

    it('answers 401 for a tenant id with quotes, and 503 auth_unavailable when the table is gone', async () => {
      const { key } = await newKey()
      const { call } = setup()
      expect((await call("x'OR'1'='1", key).expect(401)).body.code).toBe('invalid_credentials')
      const broken = setup(pgRecordResolver({ pool, table: uniqueName('kw_gone') }))
      const res = await broken.call('acme', key).expect(503)
      expect(res.body.code).toBe('auth_unavailable')
      expect(broken.events.at(-1)).toMatchObject({ reason: 'record_store_failed' })
    })
  })
})

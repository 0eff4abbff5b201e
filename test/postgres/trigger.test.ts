import { readFile } from 'node:fs/promises'
import express from 'express'
import pg from 'pg'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { healthCheck } from '../../src/index.js'
import { invalidationTriggerSql, pgInvalidation } from '../../src/postgres/index.js'
import { DATABASE_URL, requireServices, uniqueName } from '../integration/services.js'
import { recorder } from '../integration/wait.js'

const { skip } = await requireServices('postgres')

describe.skipIf(skip)('invalidationTriggerSql', () => {
  const table = uniqueName('kw_trigger_settings')
  const channel = uniqueName('kw_trigger')
  const functionName = uniqueName('kw_notify')
  const heard = recorder()
  let pool: pg.Pool
  let bus: ReturnType<typeof pgInvalidation>

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3 })
    // json, not jsonb: the json type has no equality operator, which the trigger must not need
    await pool.query(
      `CREATE TABLE ${table} (tenant_id text PRIMARY KEY, widget_api_key_hash json, plan text)`,
    )
    const sql = invalidationTriggerSql({
      table: `public.${table}`,
      column: 'widget_api_key_hash',
      tenantColumn: 'tenant_id',
      channel,
      name: functionName,
    })
    await pool.query(sql)
    await pool.query(sql) // a migration may run twice
    await pool.query(
      `INSERT INTO ${table} VALUES ('tenant-a', '{"v":1}', 'free'), ('tenant-b', '{"v":1}', 'free'), ('tenant-c', NULL, 'free')`,
    )
    bus = pgInvalidation({ client: pool, channel })
    bus.subscribe(heard.listener)
    await bus.ready()
  })
  afterAll(async () => {
    await bus?.close()
    await pool?.query(`DROP TABLE IF EXISTS ${table}`)
    await pool?.query(`DROP FUNCTION IF EXISTS ${functionName}()`)
    await pool?.end()
  })

  // one session's notifications arrive in commit order, so "the next message is X" also proves
  // that the statements before X sent nothing
  it('notifies the tenant id when the record column changes, and nothing for other columns or equal values', async () => {
    await pool.query(`UPDATE ${table} SET plan = 'pro' WHERE tenant_id = 'tenant-a'`)
    await pool.query(`UPDATE ${table} SET widget_api_key_hash = '{"v":1}' WHERE tenant_id = 'tenant-a'`)
    await pool.query(`UPDATE ${table} SET widget_api_key_hash = '{"v":2}' WHERE tenant_id = 'tenant-b'`)
    expect(await heard.next()).toBe('tenant-b')
  })

  it('notifies when a record is set where there was none, and when one is removed', async () => {
    await pool.query(`UPDATE ${table} SET widget_api_key_hash = '{"v":1}' WHERE tenant_id = 'tenant-c'`)
    expect(await heard.next()).toBe('tenant-c')
    await pool.query(`UPDATE ${table} SET widget_api_key_hash = NULL WHERE tenant_id = 'tenant-c'`)
    expect(await heard.next()).toBe('tenant-c')
  })

  it('notifies on DELETE, and nothing for a transaction that rolls back', async () => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(`UPDATE ${table} SET widget_api_key_hash = '{"v":9}' WHERE tenant_id = 'tenant-a'`)
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    await pool.query(`DELETE FROM ${table} WHERE tenant_id = 'tenant-b'`)
    expect(await heard.next()).toBe('tenant-b')
  })

  it('notifies both the old and the new tenant id when a row changes tenant', async () => {
    await pool.query(`UPDATE ${table} SET tenant_id = 'tenant-z' WHERE tenant_id = 'tenant-a'`)
    expect([await heard.next(), await heard.next()]).toEqual(['tenant-a', 'tenant-z'])
    expect(heard.calls).toHaveLength(6)
  })

  it('is the SQL shown in docs/many-instances.md and used by examples/widget-platform/schema.sql', async () => {
    const sql = invalidationTriggerSql({ channel: 'keyward_widget_keys' })
    const schema = await readFile(
      new URL('../../examples/widget-platform/schema.sql', import.meta.url),
      'utf8',
    )
    const docs = await readFile(new URL('../../docs/many-instances.md', import.meta.url), 'utf8')
    expect(schema).toContain(sql.trim())
    expect(docs).toContain(sql.slice(sql.indexOf('CREATE OR REPLACE')).trim())
  })

  it('refuses identifiers it would have to escape, and names that Postgres would truncate', () => {
    expect(() => invalidationTriggerSql({ table: 'settings"; DROP TABLE x; --', channel: 'c' })).toThrow(
      /"table"/,
    )
    expect(() => invalidationTriggerSql({ column: 'hash col', channel: 'c' })).toThrow(/"column"/)
    expect(() => invalidationTriggerSql({ tenantColumn: '', channel: 'c' })).toThrow(/"tenantColumn"/)
    expect(() => invalidationTriggerSql({ channel: "c'); DROP TABLE x; --" })).toThrow(/"channel"/)
    expect(() =>
      invalidationTriggerSql({ table: 't'.repeat(40), column: 'c'.repeat(20), channel: 'c' }),
    ).toThrow(/longer than 56/)
    expect(() => invalidationTriggerSql({ channel: 'c', name: 'x'.repeat(57) })).toThrow(/longer than 56/)
    expect(invalidationTriggerSql({ channel: 'keyward' })).toContain(
      'AFTER UPDATE OF "widget_api_key_hash", "tenant_id" ON "tenant_settings"',
    )
  })

  describe('pgInvalidation({ trigger }) checking the trigger in ready()', () => {
    const trigger = { table: `public.${table}`, column: 'widget_api_key_hash', name: functionName }

    it('resolves while both triggers are in place and notify its channel', async () => {
      const checked = pgInvalidation({ client: pool, channel, trigger })
      try {
        await expect(checked.ready()).resolves.toBeUndefined()
      } finally {
        await checked.close()
      }
    })

    it('rejects with 500 invalidation_trigger_missing when a trigger is dropped or disabled, and healthCheck names the bus', async () => {
      const checked = pgInvalidation({ client: pool, channel, trigger })
      const app = express()
      app.get('/health', healthCheck(checked))
      try {
        await checked.ready()
        await pool.query(`DROP TRIGGER ${functionName}_delete ON ${table}`)
        const dropped = await checked.ready().catch((error: unknown) => error)
        expect(dropped).toMatchObject({
          code: 'server_misconfigured',
          reason: 'invalidation_trigger_missing',
        })
        expect((dropped as Error).message).toContain(`trigger ${functionName}_delete is missing`)
        const res = await request(app).get('/health').expect(503)
        expect(res.body.checks[0]).toMatchObject({
          name: 'pgInvalidation',
          reason: 'invalidation_trigger_missing',
        })

        await pool.query(invalidationTriggerSql({ ...trigger, channel, tenantColumn: 'tenant_id' }))
        await pool.query(`ALTER TABLE ${table} DISABLE TRIGGER ${functionName}_update`)
        await expect(checked.ready()).rejects.toThrow(`trigger ${functionName}_update is disabled`)
        await pool.query(`ALTER TABLE ${table} ENABLE TRIGGER ${functionName}_update`)
        await expect(checked.ready()).resolves.toBeUndefined()
      } finally {
        await checked.close()
      }
    })

    it('rejects when the trigger notifies another channel than the one it listens on', async () => {
      const other = uniqueName('kw_other')
      const checked = pgInvalidation({ client: pool, channel: other, trigger })
      try {
        await expect(checked.ready()).rejects.toThrow(`does not notify "${other}"`)
      } finally {
        await checked.close()
      }
    })
  })
})

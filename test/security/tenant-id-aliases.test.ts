/**
 * A tenant id is cached as the text the request sent, but a Postgres column of another type reads
 * many texts as one value: `42`, `042` and `+42` are one integer, a uuid in upper case or without
 * hyphens is the same uuid. Each spelling would be a cache entry of its own that invalidation
 * (which names the tenant as the database prints it) never reaches, so the holder of a key that
 * is rotated away could keep using it through a spelling it warmed before, and one tenant could
 * take as many PBKDF2 shares as it has spellings.
 */
import pg from 'pg'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DecisionEvent, verifyWidgetKey } from '../../src/index.js'
import { invalidationTriggerSql, pgInvalidation, pgRecordResolver } from '../../src/postgres/index.js'
import { expressVersions } from '../helpers/apps.js'
import { DATABASE_URL, requireServices, uniqueName } from '../integration/services.js'
import { recorder } from '../integration/wait.js'
import { listen, newKey } from './widget-support.js'

const { skip } = await requireServices('postgres')

const UUID = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'

describe.skipIf(skip).each(expressVersions)(
  'tenant ids the store reads as another spelling ($name)',
  ({ express }) => {
    const table = uniqueName('kw_alias_settings')
    const channel = uniqueName('kw_alias')
    const functionName = uniqueName('kw_alias_notify')
    let pool: pg.Pool
    let bus: ReturnType<typeof pgInvalidation>

    beforeAll(async () => {
      pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3 })
      await pool.query(
        `CREATE TABLE ${table} (tenant_id integer PRIMARY KEY, uuid_id uuid UNIQUE, widget_api_key_hash text)`,
      )
      await pool.query(
        invalidationTriggerSql({ table, column: 'widget_api_key_hash', channel, name: functionName }),
      )
      bus = pgInvalidation({ client: pool, channel })
    })
    afterAll(async () => {
      await bus?.close()
      await pool?.query(`DROP TABLE IF EXISTS ${table}`)
      await pool?.query(`DROP FUNCTION IF EXISTS ${functionName}()`)
      await pool?.end()
    })

    it('refuses a rotated-away key on every spelling of an integer tenant id once the rotation is announced', async () => {
      const old = await newKey()
      const current = await newKey()
      await pool.query(`INSERT INTO ${table} (tenant_id, widget_api_key_hash) VALUES (42, $1)`, [old.record])
      const events: DecisionEvent[] = []
      const guard = verifyWidgetKey({
        records: pgRecordResolver({ pool, table }),
        invalidation: bus,
        onDecision: (e) => events.push(e),
      })
      const heard = recorder()
      bus.subscribe(heard.listener)
      await bus.ready()
      const app = express()
      app.get('/widget/config', guard, (_req, res) => {
        res.json({ ok: true })
      })
      const server = await listen(app)
      try {
        const get = (tenant: string, key: string) =>
          request(server.url).get('/widget/config').set('X-Tenant-Id', tenant).set('X-Widget-Key', key)
        expect((await get('42', old.key)).status).toBe(200)
        // the holder warms other spellings while its key is still good
        const aliases = ['042', '+42', '0042']
        const before = await Promise.all(aliases.map((alias) => get(alias, old.key)))

        await pool.query(`UPDATE ${table} SET widget_api_key_hash = $1 WHERE tenant_id = 42`, [
          current.record,
        ])
        expect(await heard.next('the rotation of tenant 42')).toBe('42')

        expect((await get('42', old.key)).status).toBe(401)
        expect((await get('42', current.key)).status).toBe(200)
        const after = await Promise.all(aliases.map((alias) => get(alias, old.key)))
        expect(after.map((res) => res.status)).toEqual(aliases.map(() => 401))
        // stronger: a spelling other than the one the database prints names no tenant at all, so
        // it never had a cache entry of its own to outlive the rotation
        expect(before.map((res) => res.status)).toEqual(aliases.map(() => 401))
        expect(events.filter((e) => aliases.includes(e.tenantId ?? '')).map((e) => e.reason)).toEqual(
          [...aliases, ...aliases].map(() => 'unknown_tenant'),
        )
      } finally {
        await server.close()
      }
    })

    it('reads a uuid tenant id only in the form Postgres prints it', async () => {
      const key = await newKey()
      await pool.query(`INSERT INTO ${table} (tenant_id, uuid_id, widget_api_key_hash) VALUES (7, $1, $2)`, [
        UUID,
        key.record,
      ])
      const guard = verifyWidgetKey({
        records: pgRecordResolver({ pool, table, tenantColumn: 'uuid_id' }),
      })
      const app = express()
      app.get('/widget/config', guard, (_req, res) => {
        res.json({ ok: true })
      })
      const server = await listen(app)
      try {
        const get = (tenant: string) =>
          request(server.url).get('/widget/config').set('X-Tenant-Id', tenant).set('X-Widget-Key', key.key)
        expect((await get(UUID)).status).toBe(200)
        const spellings = [UUID.toUpperCase(), UUID.replaceAll('-', ''), `{${UUID}}`]
        const statuses = await Promise.all(spellings.map(async (s) => (await get(s)).status))
        expect(statuses).toEqual(spellings.map(() => 401))
        // each spelling the store had answered for would be a PBKDF2 share of its own
        expect(guard.stats().hashes).toBe(1)
      } finally {
        await server.close()
      }
    })
  },
)

/**
 * Four runtime instances (separate processes) share Postgres and a bus. The admin side (this
 * process) rotates tenants' keys in Postgres under steady traffic and measures, per instance,
 * how long the old key keeps working after the write. Run: `npx vitest run test/integration/rotation.test.ts`
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import pg from 'pg'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWidgetKey, formatHashRecord } from '../../src/index.js'
import { invalidationTriggerSql } from '../../src/postgres/index.js'
import { redisInvalidation } from '../../src/redis/index.js'
import { secret } from '../helpers/secrets.js'
import {
  background,
  callWidget,
  type Instance,
  instanceStats,
  now,
  percentile,
  startInstances,
  stopInstances,
} from './instances.js'
import { DATABASE_URL, REDIS_URL, requireServices, uniqueName } from './services.js'

const { skip } = await requireServices('postgres', 'redis')

const INSTANCES = 4
const TENANTS = ['tenant-a', 'tenant-b', 'tenant-c']
const ROTATIONS = 12
/**
 * Time between rotations, ms. Each tenant is rotated every TENANTS × this = 1.2 s, beyond the
 * guard's one-re-read-per-second limit on refresh-on-mismatch, as real rotations are.
 */
const ROTATION_SPACING = 400
const DEADLINE = 1_000
const RESULTS = new URL('./results/rotation.json', import.meta.url)

interface BusFigures {
  instances: number
  rotations: number
  samples: number
  refusedAfterMs: { p50: number; p99: number; max: number }
  deliveredAfterMs: { p50: number; p99: number; max: number }
  requests: number
  failedRequests: number
  /** New-key requests an instance answered by re-reading the record before its message arrived. */
  allowedByRefreshOnMismatch: number
}
const figures: Record<string, BusFigures> = {}

async function newKey() {
  const { key, record } = await createWidgetKey({ iterations: 1_000 })
  return { key: secret(key), phc: formatHashRecord(record, 'phc') }
}

const round = (ms: number) => Math.round(ms * 10) / 10

describe.skipIf(skip).each(['postgres', 'redis'] as const)(
  'key rotation across four instances over %s',
  (bus) => {
    const table = uniqueName(`kw_it_rotation_${bus}`)
    const channel = uniqueName(`kw_it_rotation_${bus}`)
    let admin: pg.Pool
    let publisher: ReturnType<typeof createClient> | undefined
    let instances: Instance[] = []

    beforeAll(async () => {
      admin = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
      await admin.query(`CREATE TABLE ${table} (tenant_id text PRIMARY KEY, widget_api_key_hash text)`)
      // over Postgres the database announces every change itself; over Redis the admin side publishes
      if (bus === 'postgres')
        await admin.query(invalidationTriggerSql({ table, channel, name: `${table}_fn` }))
      if (bus === 'redis') {
        publisher = createClient({ url: REDIS_URL })
        await publisher.connect()
      }
      instances = await startInstances(
        Array.from({ length: INSTANCES }, (_, index) => ({
          index,
          bus,
          table,
          channel,
          name: `${table}-${index}`,
          reconnectDelay: 100,
          databaseUrl: DATABASE_URL,
          redisUrl: REDIS_URL,
        })),
      )
    })
    afterAll(async () => {
      await stopInstances(instances)
      await admin?.query(`DROP TABLE IF EXISTS ${table}`)
      await admin?.query(`DROP FUNCTION IF EXISTS ${table}_fn()`)
      await admin?.end()
      publisher?.destroy()
    })

    it('accepts each new key at once on every instance and refuses the old one within 1 s, with no failed request', async () => {
      const invalidation = publisher && redisInvalidation({ publisher, channel })
      const current = new Map<string, string>()
      for (const tenant of TENANTS) {
        const { key, phc } = await newKey()
        await admin.query(`INSERT INTO ${table} VALUES ($1, $2)`, [tenant, phc])
        current.set(tenant, key)
      }
      // keys whose revocation has begun: a 401 for one of those is the point, not a failure
      const retiring = new Set<string>()
      const failures: string[] = []
      let requests = 0
      const check = (instance: Instance, tenant: string, key: string, status: number, what: string) => {
        requests++
        if (status !== 200 && (status === 0 || status >= 500 || !retiring.has(key))) {
          failures.push(`instance ${instance.index}, ${tenant}: ${status || 'no answer'} for ${what}`)
        }
      }

      // steady traffic: each instance gets one request after another, across the tenants, with current keys
      const traffic = background(
        instances.map((instance) => async (running) => {
          for (let n = 0; running(); n++) {
            const tenant = TENANTS[n % TENANTS.length]!
            const key = current.get(tenant)!
            check(instance, tenant, key, (await callWidget(instance, tenant, key)).status, 'the current key')
          }
        }),
      )

      const refusedAfter: number[] = []
      const deliveredAfter: number[] = []
      try {
        for (let rotation = 0; rotation < ROTATIONS; rotation++) {
          const startedAt = now()
          const tenant = TENANTS[rotation % TENANTS.length]!
          const old = current.get(tenant)!
          const fresh = await newKey()
          retiring.add(old)
          const writtenAt = now()
          // each instance is asked with the old key, back to back, until it refuses it
          const refusals = instances.map(async (instance) => {
            for (;;) {
              const { status, answeredAt } = await callWidget(instance, tenant, old)
              if (status === 401 || answeredAt - writtenAt > 3 * DEADLINE) return answeredAt - writtenAt
              if (status !== 200)
                failures.push(
                  `instance ${instance.index}, ${tenant}: ${status || 'no answer'} for the old key`,
                )
            }
          })
          await admin.query(`UPDATE ${table} SET widget_api_key_hash = $2 WHERE tenant_id = $1`, [
            tenant,
            fresh.phc,
          ])
          if (invalidation) await invalidation.publish(tenant)
          current.set(tenant, fresh.key)
          // the moment the write is done, the new key works everywhere, whether or not the message has arrived
          const firstUses = await Promise.all(
            instances.map((instance) => callWidget(instance, tenant, fresh.key)),
          )
          for (const [index, { status }] of firstUses.entries()) {
            check(instances[index]!, tenant, fresh.key, status, 'the new key at once')
          }
          refusedAfter.push(...(await Promise.all(refusals)))
          for (const instance of instances) {
            const heard = instance.invalidations.find(
              (message) => message.id === tenant && message.at >= writtenAt,
            )
            deliveredAfter.push(heard ? heard.at - writtenAt : Number.POSITIVE_INFINITY)
          }
          await new Promise((resolve) =>
            setTimeout(resolve, Math.max(0, ROTATION_SPACING - (now() - startedAt))),
          )
        }
      } finally {
        await traffic.stop()
      }

      // afterwards, every instance refuses every retired key and accepts every current one
      for (const instance of instances) {
        for (const key of retiring) {
          const tenant = TENANTS.find((t) => current.get(t) !== key)!
          expect((await callWidget(instance, tenant, key)).status).toBe(401)
        }
        for (const tenant of TENANTS)
          expect((await callWidget(instance, tenant, current.get(tenant)!)).status).toBe(200)
      }
      const stats = await Promise.all(instances.map(instanceStats))
      const sum = (reason: string) => stats.reduce((total, { reasons }) => total + (reasons[reason] ?? 0), 0)

      const result: BusFigures = {
        instances: INSTANCES,
        rotations: ROTATIONS,
        samples: refusedAfter.length,
        refusedAfterMs: summary(refusedAfter),
        deliveredAfterMs: summary(deliveredAfter),
        requests,
        failedRequests: failures.length,
        allowedByRefreshOnMismatch: sum('200 record_stale_refreshed'),
      }
      figures[bus] = result
      console.log(
        `keyward rotation over ${bus}: old key refused on all ${INSTANCES} instances after p50 ${result.refusedAfterMs.p50} ms, ` +
          `p99 ${result.refusedAfterMs.p99} ms (max ${result.refusedAfterMs.max} ms; message delivered p50 ` +
          `${result.deliveredAfterMs.p50} ms, p99 ${result.deliveredAfterMs.p99} ms) over ${result.samples} samples; ` +
          `${requests} requests, ${failures.length} failed, ${result.allowedByRefreshOnMismatch} allowed by refresh-on-mismatch`,
      )
      // the instances' own account of any 5xx, by reason, so a failure names its cause
      const serverErrors = stats.flatMap(({ reasons }, index) =>
        Object.entries(reasons)
          .filter(([reason]) => reason.startsWith('5'))
          .map(([reason, count]) => `instance ${index}: ${count} × ${reason}`),
      )
      expect(failures, serverErrors.join('; ')).toEqual([])
      expect(instances.map((instance) => instance.exit)).toEqual(instances.map(() => undefined))
      expect(Math.max(...refusedAfter)).toBeLessThan(DEADLINE)
      expect(Math.max(...deliveredAfter)).toBeLessThan(DEADLINE)
    })

    it('accepts a new key on every instance at once even when its message never comes (refresh-on-mismatch)', async () => {
      const before = await newKey()
      const after = await newKey()
      await admin.query(`INSERT INTO ${table} VALUES ('tenant-quiet', $1)`, [before.phc])
      for (const instance of instances)
        expect((await callWidget(instance, 'tenant-quiet', before.key)).status).toBe(200)
      const refreshedBefore = await Promise.all(instances.map(instanceStats))
      // a write that sends no message: over Postgres, with triggers off for this session (as a
      // replication or restore tool writes); over Redis, simply no publish
      const client = await admin.connect()
      try {
        await client.query('BEGIN')
        await client.query(`SET LOCAL session_replication_role = replica`)
        await client.query(`UPDATE ${table} SET widget_api_key_hash = $1 WHERE tenant_id = 'tenant-quiet'`, [
          after.phc,
        ])
        await client.query('COMMIT')
      } finally {
        client.release()
      }
      for (const instance of instances)
        expect((await callWidget(instance, 'tenant-quiet', after.key)).status).toBe(200)
      const refreshedAfter = await Promise.all(instances.map(instanceStats))
      refreshedAfter.forEach(({ reasons }, index) => {
        const count = (stats: typeof reasons) => stats['200 record_stale_refreshed'] ?? 0
        expect(count(reasons) - count(refreshedBefore[index]!.reasons), `instance ${index}`).toBe(1)
      })
      // the same re-read retired the old key: the cached record is the new one now
      for (const instance of instances)
        expect((await callWidget(instance, 'tenant-quiet', before.key)).status).toBe(401)
      expect(
        instances.flatMap((instance) => instance.invalidations.filter((m) => m.id === 'tenant-quiet')),
      ).toEqual([])
    })
  },
)

function summary(values: number[]) {
  return {
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
    max: round(Math.max(...values)),
  }
}

afterAll(async () => {
  if (Object.keys(figures).length === 0) return
  await mkdir(new URL('./results/', import.meta.url), { recursive: true })
  const previous = await readFile(RESULTS, 'utf8').then(
    (text) => JSON.parse(text) as { buses?: Record<string, BusFigures> },
    () => ({}) as { buses?: Record<string, BusFigures> },
  )
  const report = {
    measuredAt: new Date().toISOString(),
    command: 'npx vitest run test/integration/rotation.test.ts',
    node: process.version,
    what:
      'ms from the start of the admin write (UPDATE; for redis, UPDATE then publish) until an instance first answers ' +
      '401 to the old key (refusedAfterMs), and until its bus hands it the message (deliveredAfterMs); ' +
      'one sample per instance per rotation, under steady traffic with the current keys',
    buses: { ...previous.buses, ...figures },
  }
  await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`)
})

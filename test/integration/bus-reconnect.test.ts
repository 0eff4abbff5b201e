/**
 * The bus connection of every instance is killed mid-traffic (pg_terminate_backend on the LISTEN
 * sessions; CLIENT KILL TYPE pubsub for Redis), a key is revoked while the buses are away, so its
 * message is lost; once each bus is back it drops everything, and the revoked key never works again.
 */
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
  startInstances,
  stopInstances,
} from './instances.js'
import { redisAdmin } from './redis-clients.js'
import { DATABASE_URL, REDIS_URL, requireServices, uniqueName } from './services.js'
import { until } from './wait.js'

const { skip } = await requireServices('postgres', 'redis')

const INSTANCES = 4
/** How long a bus waits before reconnecting, ms: the window in which the revocation is published. */
const RECONNECT_DELAY = 500

async function newKey() {
  const { key, record } = await createWidgetKey({ iterations: 1_000 })
  return { key: secret(key), phc: formatHashRecord(record, 'phc') }
}

describe.skipIf(skip).each(['postgres', 'redis'] as const)('a killed %s bus connection', (bus) => {
  const table = uniqueName(`kw_it_kill_${bus}`)
  const channel = uniqueName(`kw_it_kill_${bus}`)
  let admin: pg.Pool
  let redis: Awaited<ReturnType<typeof redisAdmin>>
  let publisher: ReturnType<typeof createClient>
  let instances: Instance[] = []

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    redis = await redisAdmin()
    publisher = createClient({ url: REDIS_URL })
    await publisher.connect()
    await admin.query(`CREATE TABLE ${table} (tenant_id text PRIMARY KEY, widget_api_key_hash text)`)
    if (bus === 'postgres') await admin.query(invalidationTriggerSql({ table, channel, name: `${table}_fn` }))
    instances = await startInstances(
      Array.from({ length: INSTANCES }, (_, index) => ({
        index,
        bus,
        table,
        channel,
        name: `${table}-${index}`,
        reconnectDelay: RECONNECT_DELAY,
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
    await redis?.close()
    publisher?.destroy()
  })

  /**
   * Kills every instance's bus connection and revokes `tenant`'s key while they are away, so the
   * message reaches nobody, whatever the machine's load; returns a time after the revocation was
   * written and before any bus can be back. Postgres: one round trip that updates the record,
   * terminates the LISTEN sessions, waits until they are gone and commits, so the trigger's NOTIFY
   * goes out to no listener (the buses wait RECONNECT_DELAY). Redis: the UPDATE, then CLIENT KILL
   * and PUBLISH in one transaction, as the official client reconnects at once.
   */
  const killBusesAndRevoke = async (tenant: string, phc: string) => {
    if (bus === 'postgres') {
      const client = await admin.connect()
      const ours = client.escapeLiteral(`${table}-%-listen`)
      try {
        const results = (await client.query(
          `BEGIN;
           UPDATE ${table} SET widget_api_key_hash = ${client.escapeLiteral(phc)} WHERE tenant_id = ${client.escapeLiteral(tenant)};
           SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name LIKE ${ours};
           DO $$ BEGIN
             LOOP
               PERFORM pg_stat_clear_snapshot();
               EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE ${ours});
               PERFORM pg_sleep(0.002);
             END LOOP;
           END $$;
           COMMIT`,
        )) as unknown as pg.QueryResult[]
        expect(results[2]?.rows).toEqual(instances.map(() => ({ killed: true })))
      } finally {
        client.release()
      }
      return now()
    }
    await admin.query(`UPDATE ${table} SET widget_api_key_hash = $2 WHERE tenant_id = $1`, [tenant, phc])
    const writtenAt = now()
    expect(await redis.killSubscribersAndPublish(`${table}-`, channel, tenant)).toEqual({
      killed: INSTANCES,
      received: 0,
    })
    return writtenAt
  }
  /** How many instances' buses are subscribed right now. */
  const subscribed = async () => {
    if (bus === 'redis') return redis.subscribers(channel)
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1`,
      [`${table}-%-listen`],
    )
    return rows[0].n as number
  }
  const revoke = async (tenant: string, phc: string) => {
    await admin.query(`UPDATE ${table} SET widget_api_key_hash = $2 WHERE tenant_id = $1`, [tenant, phc])
    if (bus === 'redis') await redisInvalidation({ publisher, channel }).publish(tenant)
  }

  it('survives, resubscribes, and never again accepts a key revoked while it was away', async () => {
    const steady = await newKey()
    const k1 = await newKey()
    const k2 = await newKey()
    await admin.query(`INSERT INTO ${table} VALUES ('steady', $1), ('victim', $2)`, [steady.phc, k1.phc])
    for (const instance of instances) {
      expect((await callWidget(instance, 'victim', k1.key)).status).toBe(200) // now cached everywhere
    }

    const steadyFailures: string[] = []
    const victimCalls = instances.map(() => [] as Array<{ status: number; sentAt: number }>)
    const traffic = background([
      ...instances.map((instance) => async (running: () => boolean) => {
        while (running()) {
          const { status } = await callWidget(instance, 'steady', steady.key)
          if (status !== 200) steadyFailures.push(`instance ${instance.index}: ${status || 'no answer'}`)
        }
      }),
      // only the revoked key is sent for the victim: a request with the new key would re-read the
      // record (refresh-on-mismatch) and hide whether the bus recovered
      ...instances.map((instance, index) => async (running: () => boolean) => {
        while (running()) {
          const { status, sentAt } = await callWidget(instance, 'victim', k1.key)
          victimCalls[index]!.push({ status, sentAt })
        }
      }),
    ])

    const flushes = () =>
      instances.map((instance) =>
        instance.invalidations.find((message) => message.id === null && message.at > killedAt),
      )
    let killedAt = 0
    let revokedAt = 0
    try {
      killedAt = now()
      revokedAt = await killBusesAndRevoke('victim', k2.phc)
      await until(() => flushes().every(Boolean), 'every instance to resubscribe and drop its caches', 5_000)
      // keep asking a little past the last flush, so every instance answers after its own
      const lastFlush = Math.max(...flushes().map((flush) => flush!.at))
      await until(
        () => victimCalls.every((calls) => calls.some((call) => call.sentAt > lastFlush + 20)),
        'requests after the flushes',
      )
    } finally {
      await traffic.stop()
    }

    // the premise: every bus came back only after the revocation was written (and its message lost)
    expect(Math.min(...flushes().map((flush) => flush!.at))).toBeGreaterThan(revokedAt)
    flushes().forEach((flush, index) => {
      const after = victimCalls[index]!.filter((call) => call.sentAt > flush!.at)
      expect(after.length, `instance ${index} was asked after its flush`).toBeGreaterThan(0)
      expect(
        after.filter((call) => call.status !== 401),
        `instance ${index} refused the revoked key after resubscribing`,
      ).toEqual([])
    })
    // the lost message never arrived: only the flush on resubscribing dropped the cache
    for (const instance of instances) {
      expect(
        instance.invalidations.filter((message) => message.id === 'victim' && message.at > killedAt),
      ).toEqual([])
    }
    expect(steadyFailures).toEqual([])
    expect(instances.map((instance) => instance.exit)).toEqual(instances.map(() => undefined))
    expect(await subscribed()).toBe(INSTANCES)
    for (const { bus: busStats } of await Promise.all(instances.map(instanceStats))) {
      expect(busStats).toMatchObject({ listening: true, reconnects: 1 })
    }
    for (const instance of instances) {
      const health = await fetch(`${instance.url}/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ status: 'ok' })
    }
  })

  it('delivers messages again after resubscribing: the next revocation reaches every instance within 1 s', async () => {
    const k2 = await newKey()
    const k3 = await newKey()
    await revoke('victim', k2.phc)
    for (const instance of instances) {
      await until(
        async () => (await callWidget(instance, 'victim', k2.key)).status === 200,
        `instance ${instance.index} to accept k2`,
      )
    }
    const writtenAt = now()
    await revoke('victim', k3.phc)
    // k3 is never sent: nothing but the message can make an instance re-read the record
    const refusedAfter = await Promise.all(
      instances.map(async (instance) => {
        for (;;) {
          const { status, answeredAt } = await callWidget(instance, 'victim', k2.key)
          if (status === 401 || answeredAt - writtenAt > 2_000) return answeredAt - writtenAt
        }
      }),
    )
    expect(Math.max(...refusedAfter)).toBeLessThan(1_000)
  })
})

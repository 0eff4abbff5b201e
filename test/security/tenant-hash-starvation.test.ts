/**
 * One tenant's id is public and each wrong key for it costs a PBKDF2 derivation: a flood of wrong
 * keys for tenant A must not take the derivation slots that other tenants' valid keys need.
 */
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { type DecisionEvent, formatHashRecord, hashWidgetKey, verifyWidgetKey } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { listen, newKey, until } from './widget-support.js'

/** Slow enough (~0.1 s each, more on a loaded machine) that A's derivations always hold their slots. */
const HEAVY_ITERATIONS = 300_000
const FLOOD_CONNECTIONS = 24
const B_KEYS = 20

describe.each(expressVersions)('a flood of wrong keys for one tenant ($name)', ({ express }) => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })

  it("serves every cold valid key of tenant B while tenant A's wrong keys flood in, refusing only A beyond its share", async () => {
    const store = memoryRecordStore()
    const heavy = await hashWidgetKey(secret('wid_tenant_a_key_nobody_will_guess_0'), {
      iterations: HEAVY_ITERATIONS,
    })
    store.set('tenant-a', formatHashRecord(heavy, 'phc'))
    // B's keys are made before the flood: making one derives too, and must not queue behind it
    const bKeys = await Promise.all(Array.from({ length: B_KEYS }, () => newKey()))
    const events: DecisionEvent[] = []
    const guard = verifyWidgetKey({
      records: store.records,
      invalidation: store.invalidation,
      onDecision: (e) => events.push(e),
    })
    const app = express()
    app.get('/widget/config', guard, (_req, res) => {
      res.json({ ok: true })
    })
    const server = await listen(app)
    closers.push(server.close)

    let flooding = true
    let sent = 0
    const floodStatuses: number[] = []
    const floodOne = async () => {
      while (flooding) {
        const res = await request(server.url)
          .get('/widget/config')
          .set('X-Tenant-Id', 'tenant-a')
          .set('X-Widget-Key', `wrong-key-for-tenant-a-${sent++}-xxxxxxxx`)
        floodStatuses.push(res.status)
      }
    }
    const flood = Array.from({ length: FLOOD_CONNECTIONS }, floodOne)
    try {
      await until(() => (guard.stats().hashesInFlight ?? 0) >= 2)
      const bStatuses: number[] = []
      for (const { key, record } of bKeys) {
        // a new record and key each time: B's key is cold, it needs a derivation of its own
        store.set('tenant-b', record)
        const res = await request(server.url)
          .get('/widget/config')
          .set('X-Tenant-Id', 'tenant-b')
          .set('X-Widget-Key', key)
        bStatuses.push(res.status)
      }
      const served = bStatuses.filter((s) => s === 200).length
      const refused = bStatuses.filter((s) => s === 503).length
      expect({ served, refused }).toEqual({ served: B_KEYS, refused: 0 })
    } finally {
      flooding = false
      await Promise.all(flood)
    }
    expect(floodStatuses.every((s) => s === 401 || s === 503)).toBe(true)
    const refusedA = events.filter((e) => e.tenantId === 'tenant-a' && e.reason === 'hashing_overloaded')
    expect(refusedA.length).toBeGreaterThan(0)
    expect(refusedA[0]).toMatchObject({ status: 503, code: 'auth_unavailable', detail: { bound: 'tenant' } })
    expect(guard.stats().hashesRefusedTenant).toBeGreaterThan(0)
  }, 120_000)

  it('answers a tenant beyond its share 503 auth_unavailable with Retry-After', async () => {
    const store = memoryRecordStore()
    const heavy = await hashWidgetKey(secret('wid_tenant_a_key_nobody_will_guess_1'), {
      iterations: HEAVY_ITERATIONS,
    })
    store.set('tenant-a', formatHashRecord(heavy, 'phc'))
    const guard = verifyWidgetKey({ records: store.records, maxHashesPerTenant: 1 })
    const app = express()
    app.get('/widget/config', guard, (_req, res) => {
      res.json({ ok: true })
    })
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        request(app)
          .get('/widget/config')
          .set('X-Tenant-Id', 'tenant-a')
          .set('X-Widget-Key', `wrong-key-for-tenant-a-share-${i}-xxxx`),
      ),
    )
    const refused = answers.filter((r) => r.status === 503)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused[0]?.headers['retry-after']).toBe('1')
    expect(refused[0]?.body.code).toBe('auth_unavailable')
    expect(guard.stats().hashesPeak).toBe(1)
  }, 60_000)
})

describe('maxHashesPerTenant', () => {
  it('throws a TypeError naming the option for a share that is not a positive integer or exceeds maxHashesInFlight', () => {
    const records = async () => null
    expect(() => verifyWidgetKey({ records, maxHashesPerTenant: 0 })).toThrow(
      /"maxHashesPerTenant" must be a positive integer/,
    )
    expect(() => verifyWidgetKey({ records, maxHashesInFlight: 4, maxHashesPerTenant: 5 })).toThrow(
      /"maxHashesPerTenant" \(5\) is a share of "maxHashesInFlight" \(4\)/,
    )
    expect(() => verifyWidgetKey({ records, maxHashesInFlight: 1 })).not.toThrow()
  })
})

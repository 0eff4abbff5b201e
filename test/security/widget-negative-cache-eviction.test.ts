/**
 * Refusals ("no such tenant", "this key does not match") are remembered for a short while. Kept
 * in the same LRU as what was found, a flood of junk tenant ids or wrong keys evicts every real
 * tenant's records and verified keys; kept apart, it evicts only other junk.
 */
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { type DecisionEvent, verifyWidgetKey } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { expressVersions } from '../helpers/apps.js'
import { newKey } from './widget-support.js'

const MAX = 100

describe.each(expressVersions)('a flood of refusals ($name)', ({ express }) => {
  async function setup() {
    const { key, record } = await newKey()
    const store = memoryRecordStore({ initial: { acme: record } })
    const events: DecisionEvent[] = []
    const guard = verifyWidgetKey({
      records: store.records,
      cacheSize: MAX,
      maxVerifiedKeys: MAX,
      negativeCacheSize: MAX / 2,
      onDecision: (e) => events.push(e),
    })
    const app = express()
    app.get('/widget/config', guard, (_req, res) => {
      res.json({ ok: true })
    })
    const call = (tenant: string, widgetKey: string) =>
      request(app).get('/widget/config').set('X-Tenant-Id', tenant).set('X-Widget-Key', widgetKey)
    return { key, store, guard, events, call }
  }

  it("keeps a real tenant's records and verified key cached through more junk tenant ids than cacheSize", async () => {
    const { key, store, guard, events, call } = await setup()
    await call('acme', key).expect(200)
    const reads = store.reads
    for (let i = 0; i < MAX * 3; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => call(`junk-tenant-${i + j}`, key).expect(401)))
    }
    expect(store.reads).toBe(reads + MAX * 3)
    await call('acme', key).expect(200)
    expect(store.reads).toBe(reads + MAX * 3)
    expect(events.at(-1)).toMatchObject({ outcome: 'allow', cache: 'hit' })
    expect(guard.stats()).toMatchObject({ hashes: 1, negativeSize: MAX / 2 })
  })

  it("keeps a real tenant's verified key through more wrong keys for it than maxVerifiedKeys", async () => {
    const { key, guard, events, call } = await setup()
    await call('acme', key).expect(200)
    for (let i = 0; i < MAX * 2; i++) await call('acme', `wrong-key-${i}-for-acme-xxxxxxxxxxxx`).expect(401)
    const hashes = guard.stats().hashes
    await call('acme', key).expect(200)
    expect(guard.stats().hashes).toBe(hashes)
    expect(events.at(-1)).toMatchObject({ outcome: 'allow', cache: 'hit' })
    expect(guard.stats().mismatchedSize).toBe(MAX / 2)
  })

  it('still remembers an unknown tenant for negativeTtl, re-reading it at most once to see a new tenant', async () => {
    const { key, store, call } = await setup()
    for (let i = 0; i < 5; i++) await call('ghost', key).expect(401)
    expect(store.reads).toBeLessThanOrEqual(2)
  })
})

describe('negativeCacheSize', () => {
  it('throws a TypeError naming the option for a size that is not a positive integer', () => {
    expect(() => verifyWidgetKey({ records: async () => null, negativeCacheSize: 0 })).toThrow(
      /"negativeCacheSize" must be a positive integer/,
    )
  })
})

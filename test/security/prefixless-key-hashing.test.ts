/**
 * With `keyPrefix` alone, a key without the prefix still costs a store read and a PBKDF2 run, so
 * prefix-less junk is the cheapest way to make the server hash. `requireKeyPrefix` refuses it
 * before either.
 */
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { type DecisionEvent, verifyWidgetKey } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { expressVersions } from '../helpers/apps.js'
import { newKey } from './widget-support.js'

describe.each(expressVersions)('keys without the reserved prefix ($name)', ({ express }) => {
  async function setup() {
    const { key, record } = await newKey({ prefix: 'wid_' })
    const store = memoryRecordStore({ initial: { acme: record } })
    const events: DecisionEvent[] = []
    const guard = verifyWidgetKey({
      records: store.records,
      keyPrefix: 'wid_',
      requireKeyPrefix: true,
      onDecision: (e) => events.push(e),
    })
    const app = express()
    app.get('/widget/config', guard, (_req, res) => {
      res.json({ ok: true })
    })
    const call = (widgetKey: string) =>
      request(app).get('/widget/config').set('X-Tenant-Id', 'acme').set('X-Widget-Key', widgetKey)
    return { key, store, guard, events, call }
  }

  it('refuses a key without the prefix with 401 invalid_credentials before any store read or hashing', async () => {
    const { store, guard, events, call } = await setup()
    for (let i = 0; i < 50; i++) {
      const res = await call(`sk_live_${i}_junk_key_of_some_other_shape_xx`).expect(401)
      expect(res.body.code).toBe('invalid_credentials')
    }
    expect(store.reads).toBe(0)
    expect(guard.stats().hashes).toBe(0)
    expect(new Set(events.map((e) => e.reason))).toEqual(new Set(['key_prefix_missing']))
  })

  it('still accepts a generated key with the prefix', async () => {
    const { key, call, guard } = await setup()
    await call(key).expect(200)
    expect(guard.stats().hashes).toBe(1)
  })
})

describe('requireKeyPrefix', () => {
  it('throws a TypeError naming the fix without keyPrefix, or for a keyPrefix createWidgetKey cannot make', () => {
    const records = async () => null
    expect(() => verifyWidgetKey({ records, requireKeyPrefix: true })).toThrow(
      /"requireKeyPrefix" needs "keyPrefix"/,
    )
    expect(() => verifyWidgetKey({ records, keyPrefix: '' })).toThrow(/"keyPrefix" must be/)
    expect(() => verifyWidgetKey({ records, keyPrefix: 'wid_', requireKeyPrefix: 'yes' as never })).toThrow(
      /"requireKeyPrefix" must be a boolean/,
    )
  })
})

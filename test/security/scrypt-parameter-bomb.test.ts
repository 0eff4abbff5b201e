/**
 * scrypt allocates 128 · N · r bytes per derivation and takes time in proportion to N · r · p, all
 * of it chosen by the stored record. A record with absurd parameters (a corrupted row, a hostile
 * write to the store, an admin typo) must be refused as a data fault before anything is allocated,
 * and real scrypt verifications must stay inside the same in-flight bounds as PBKDF2 ones, so a
 * flood of wrong keys against a costly record cannot pin the pool or exhaust memory.
 */
import { scryptSync } from 'node:crypto'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { type DecisionEvent, verifyWidgetKey } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { listen } from './widget-support.js'

const KEY = secret('wid_scrypt_bomb_key_0123456789abcdef')
const SALT = 'yjnqyZSEqnPwoBAN'
const HASH_HEX = '00'.repeat(64)
const HASH_B64 = Buffer.alloc(64).toString('base64')

/** werkzeug's default parameters (32 MiB, ~0.1 s a derivation): the costly record a flood aims at. */
function werkzeugDefault(key: string): string {
  const hash = scryptSync(key, SALT, 64, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
  return `scrypt:32768:8:1$${SALT}$${hash.toString('hex')}`
}

const bombs = [
  { name: 'werkzeug N = 2^30 (128 GiB)', record: `scrypt:${2 ** 30}:8:1$${SALT}$${HASH_HEX}`, field: 'N' },
  {
    name: 'werkzeug N·r over 256 MiB (1 GiB)',
    record: `scrypt:${2 ** 20}:8:1$${SALT}$${HASH_HEX}`,
    field: 'N',
  },
  { name: 'werkzeug r = 2^20', record: `scrypt:16384:${2 ** 20}:1$${SALT}$${HASH_HEX}`, field: 'r' },
  { name: 'Django p = 10^6', record: `scrypt$16384$${SALT}$8$1000000$${HASH_B64}`, field: 'p' },
  {
    name: 'passlib ln = 40',
    record: `$scrypt$ln=40,r=8,p=1$${Buffer.from(SALT).toString('base64').replace(/=+$/, '')}$${HASH_B64.replace(/=+$/, '')}`,
    field: 'N',
  },
  {
    name: 'object r = 10^9',
    record: { algorithm: 'scrypt', N: 1024, r: 1_000_000_000, p: 1, salt: '00112233', hash: HASH_HEX },
    field: 'r',
  },
] as const

describe.each(expressVersions)('scrypt records with absurd parameters ($name)', ({ express }) => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })

  it.each(bombs)(
    'answers 500 record_invalid for $name without starting a derivation, naming the parameter',
    async ({ record, field }) => {
      const store = memoryRecordStore({ initial: { 'tenant-1': record } })
      const events: DecisionEvent[] = []
      const logged: string[] = []
      const guard = verifyWidgetKey({
        records: store.records,
        onDecision: (e) => events.push(e),
        logger: { warn: (_o, msg) => logged.push(String(msg)) },
      })
      const app = express()
      app.get('/widget/config', guard, (_req, res) => {
        res.json({ ok: true })
      })
      const before = process.memoryUsage().rss
      const res = await request(app)
        .get('/widget/config')
        .set('X-Tenant-Id', 'tenant-1')
        .set('X-Widget-Key', KEY)
      expect([res.status, res.body.code, events.at(-1)?.reason]).toEqual([
        500,
        'server_misconfigured',
        'record_invalid',
      ])
      expect(logged.join('\n')).toMatch(new RegExp(`hash record: ${field} `))
      expect(guard.stats().hashes).toBe(0)
      // no derivation ran, so nothing near the record's demand (≥ 1 GiB) was allocated
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024)
    },
  )

  it('verifies a valid key against werkzeug-default scrypt and refuses wrong keys beyond maxHashesInFlight with 503', async () => {
    const store = memoryRecordStore({ initial: { 'tenant-1': werkzeugDefault(KEY) } })
    const events: DecisionEvent[] = []
    const guard = verifyWidgetKey({
      records: store.records,
      maxHashesInFlight: 2,
      maxHashesPerTenant: 2,
      onDecision: (e) => events.push(e),
    })
    const app = express()
    app.get('/widget/config', guard, (_req, res) => {
      res.json({ ok: true })
    })
    const server = await listen(app)
    closers.push(server.close)
    await request(server.url)
      .get('/widget/config')
      .set('X-Tenant-Id', 'tenant-1')
      .set('X-Widget-Key', KEY)
      .expect(200)
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        request(server.url)
          .get('/widget/config')
          .set('X-Tenant-Id', 'tenant-1')
          .set('X-Widget-Key', `wid_wrong_scrypt_key_${i}_0123456789abcdef`),
      ),
    )
    const statuses = answers.map((r) => r.status)
    expect(statuses.every((s) => s === 401 || s === 503)).toBe(true)
    const refused = answers.filter((r) => r.status === 503)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused[0]?.headers['retry-after']).toBe('1')
    expect(refused[0]?.body.code).toBe('auth_unavailable')
    expect(guard.stats().hashesPeak).toBeLessThanOrEqual(2)
    expect(events.some((e) => e.reason === 'hashing_overloaded')).toBe(true)
  }, 60_000)

  it("refuses one tenant's scrypt flood beyond maxHashesPerTenant while another tenant's slots stay free", async () => {
    const store = memoryRecordStore({
      initial: {
        'tenant-a': werkzeugDefault(secret('wid_tenant_a_scrypt_key_0123456789ab')),
        'tenant-b': werkzeugDefault(KEY),
      },
    })
    const events: DecisionEvent[] = []
    const guard = verifyWidgetKey({
      records: store.records,
      maxHashesInFlight: 4,
      maxHashesPerTenant: 1,
      onDecision: (e) => events.push(e),
    })
    const app = express()
    app.get('/widget/config', guard, (_req, res) => {
      res.json({ ok: true })
    })
    const server = await listen(app)
    closers.push(server.close)
    const flood = Array.from({ length: 4 }, (_, i) =>
      request(server.url)
        .get('/widget/config')
        .set('X-Tenant-Id', 'tenant-a')
        .set('X-Widget-Key', `wid_wrong_scrypt_key_a_${i}_0123456789`),
    )
    const b = request(server.url)
      .get('/widget/config')
      .set('X-Tenant-Id', 'tenant-b')
      .set('X-Widget-Key', KEY)
    const [bAnswer, ...aAnswers] = await Promise.all([b, ...flood])
    expect(bAnswer?.status).toBe(200)
    expect(aAnswers.some((r) => r.status === 503)).toBe(true)
    const refusedA = events.filter((e) => e.tenantId === 'tenant-a' && e.reason === 'hashing_overloaded')
    expect(refusedA[0]).toMatchObject({ status: 503, detail: { bound: 'tenant' } })
  }, 60_000)
})

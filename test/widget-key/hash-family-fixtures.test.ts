import { readFileSync } from 'node:fs'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { type DecisionEvent, verifyWidgetKey } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { verifyKeyAgainstRecord } from '../../src/widget-key/pbkdf2.js'
import { HashRecordError } from '../../src/widget-key/records/errors.js'
import { parseHashRecord } from '../../src/widget-key/records/parse.js'
import type { HashRecord, ParseOptions } from '../../src/widget-key/records/types.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { skipSlow } from './vectors.js'

/** One case of test/fixtures/hash-family-records.json (scripts/fixtures/make_hash_family_fixtures.py). */
interface FamilyCase {
  id: string
  family: 'scrypt' | 'sha2'
  source: string
  producer: string
  format: string
  key: string
  record: string | Record<string, unknown>
  expect: 'match' | 'mismatch'
  hash_encoding: 'hex' | 'base64' | 'base64url' | null
  parsed: Record<string, unknown> | null
  mismatch_class: string | null
  slow: boolean
}

const file = JSON.parse(
  readFileSync(new URL('../fixtures/hash-family-records.json', import.meta.url), 'utf8'),
) as { provenance: Record<string, string>; cases: FamilyCase[] }
const cases = file.cases
for (const c of cases) secret(c.key)

const optionsFor = (c: FamilyCase): ParseOptions => (c.hash_encoding ? { hashEncoding: c.hash_encoding } : {})

function parsedView(record: HashRecord): Record<string, unknown> {
  if (record.algorithm === 'sha2') {
    return { algorithm: 'sha2', digest: record.digest, hash_hex: record.hash.toString('hex') }
  }
  if (record.algorithm === 'scrypt') {
    const { N, r, p } = record
    return {
      algorithm: 'scrypt',
      N,
      r,
      p,
      salt_hex: record.salt.toString('hex'),
      hash_hex: record.hash.toString('hex'),
    }
  }
  return { algorithm: record.algorithm }
}

describe('test/fixtures/hash-family-records.json', () => {
  it('states the library and version that wrote each family', () => {
    for (const name of ['werkzeug', 'passlib', 'django', 'drf-api-key']) {
      expect(file.provenance[name], name).toMatch(/\S/)
    }
    expect(file.provenance.werkzeug).toMatch(/werkzeug 3\./)
  })

  it('has matching and mismatching cases from werkzeug, Django, passlib, drf-api-key and hashlib', () => {
    for (const source of ['werkzeug', 'django', 'passlib', 'drf-api-key', 'python-hashlib']) {
      const expects = new Set(cases.filter((c) => c.source === source).map((c) => c.expect))
      expect([source, [...expects].sort()]).toEqual([source, ['match', 'mismatch']])
    }
  })

  for (const c of cases) {
    const run = c.slow && skipSlow ? it.skip : it
    if (c.parsed !== null) {
      it(`${c.id}: parses to exactly the parameters, salt and hash its writer used`, () => {
        expect(parsedView(parseHashRecord(c.record, optionsFor(c)))).toEqual(c.parsed)
      })
    } else {
      it(`${c.id}: is refused as an invalid record, naming the hash`, () => {
        expect(() => parseHashRecord(c.record, optionsFor(c))).toThrow(HashRecordError)
        try {
          parseHashRecord(c.record, optionsFor(c))
        } catch (error) {
          expect((error as HashRecordError).field).toBe('hash')
        }
      })
    }
    if (c.expect === 'match') {
      run(`${c.id}: the presented key matches the ${c.format} record`, async () => {
        await expect(verifyKeyAgainstRecord(c.key, c.record, optionsFor(c))).resolves.toBe(true)
      })
    } else if (c.parsed === null) {
      run(`${c.id}: verification rejects with HashRecordError instead of answering`, async () => {
        await expect(verifyKeyAgainstRecord(c.key, c.record, optionsFor(c))).rejects.toBeInstanceOf(
          HashRecordError,
        )
      })
    } else {
      run(`${c.id}: the presented key does not match (${c.mismatch_class})`, async () => {
        await expect(verifyKeyAgainstRecord(c.key, c.record, optionsFor(c))).resolves.toBe(false)
      })
    }
  }
})

/** One matching and one mismatching case per writer; keys with a newline cannot travel in a header. */
const overHttp = ['werkzeug', 'django', 'passlib', 'drf-api-key', 'python-hashlib'].flatMap((source) =>
  (['match', 'mismatch'] as const).map(
    (expected) =>
      cases.find(
        (c) =>
          c.source === source &&
          c.expect === expected &&
          c.parsed !== null &&
          !c.key.includes('\n') &&
          !(c.slow && c.source !== 'werkzeug'),
      )!,
  ),
)

describe.each(expressVersions)(
  'verifyWidgetKey over HTTP with scrypt and sha2 records ($name)',
  ({ express }) => {
    it.each(overHttp)(
      '$id: answers as the fixture is labelled',
      async (c) => {
        const store = memoryRecordStore({ initial: { 'tenant-1': c.record as never } })
        const events: DecisionEvent[] = []
        const guard = verifyWidgetKey({
          records: store.records,
          ...optionsFor(c),
          onDecision: (e) => events.push(e),
        })
        const app = express()
        app.get('/widget/config', guard, (_req, res) => {
          res.json({ ok: true })
        })
        const res = await request(app)
          .get('/widget/config')
          .set('X-Tenant-Id', 'tenant-1')
          .set('X-Widget-Key', c.key)
        if (c.expect === 'match') {
          expect([res.status, events.at(-1)?.reason]).toEqual([200, 'key_match'])
          // the second request is answered from the verified-key cache, without deriving again
          await request(app)
            .get('/widget/config')
            .set('X-Tenant-Id', 'tenant-1')
            .set('X-Widget-Key', c.key)
            .expect(200)
          expect(guard.stats()).toMatchObject({ hashes: 1, verifiedHits: 1 })
        } else {
          expect([res.status, events.at(-1)?.reason]).toEqual([401, 'key_mismatch'])
        }
      },
      60_000,
    )
  },
)

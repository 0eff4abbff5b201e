/**
 * Hostile input, fuzzed with fast-check: every header path and every parser. The pure functions
 * (credential extraction, the bearer Authorization parser, the widget key shape check, the hash
 * record parser) get KEYWARD_FUZZ_RUNS runs each (default 100 000) in-process; each guard's whole
 * decision path gets a fifth of that in-process, and a few hundred requests over real HTTP with
 * raw bytes. Properties: nothing throws, nothing but the exact credential is accepted, and every
 * refusal is a documented status/code with a documented reason.
 */
import { pbkdf2Sync } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import express from 'express'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAuthorization } from '../../src/bearer/authorization-header.js'
import { extractCredential, MAX_CREDENTIAL_LENGTH } from '../../src/core/credentials.js'
import {
  checkWidgetKeyShape,
  createWidgetKey,
  type DecisionEvent,
  delegateBearerAuth,
  formatHashRecord,
  type Guard,
  HashRecordError,
  parseHashRecord,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { secret } from '../helpers/secrets.js'
import { isDocumentedAnswer, isDocumentedReason } from './helpers/documented.js'
import { fakeRequest, runGuard } from './helpers/fake-http.js'
import { rawGet } from './helpers/raw-http.js'

const RUNS = Number(process.env.KEYWARD_FUZZ_RUNS ?? 100_000)
const GUARD_RUNS = Math.max(1000, Math.round(RUNS / 5))
const HTTP_RUNS = Math.max(100, Math.round(RUNS / 300))

const WORKER_KEY = secret('wk_fuzz_3c9a7e1f5b2d4c6e8a0b1d3f5a7c9e1b')
const TOKEN = secret('kwt_fuzz_Zm9vYmFyYmF6cXV4cXV1eF9fdG9rZW4')
const TENANT = 'tenant-fuzz'

/** Near misses of a secret: the kinds of damage copy-paste, proxies and attackers do. */
function nearMisses(value: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: value.length - 1 })
  return fc.oneof(
    fc.constant(value),
    at.map((i) => value.slice(0, i) + value.slice(i + 1)),
    fc
      .tuple(at, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))
      .map(([i, c]) => value.slice(0, i) + c + value.slice(i + 1)),
    fc
      .tuple(at, fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }))
      .map(([i, s]) => value.slice(0, i) + s + value.slice(i)),
    fc.constantFrom(
      ` ${value}`,
      `${value} `,
      `${value}\n`,
      `${value}\r`,
      `\t${value}`,
      `${value}\u0000`,
      `${value},${value}`,
      `${value}, ${value}`,
      value.toUpperCase(),
      value.toLowerCase(),
      value.slice(1),
      value.slice(0, -1),
      `${value}${value}`,
      `"${value}"`,
      `${value}\u00a0`,
      `${value}é`,
    ),
  )
}

const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  // around the length limit: rarer, as each costs 4 KiB to generate
  {
    weight: 1,
    arbitrary: fc.string({ minLength: MAX_CREDENTIAL_LENGTH - 2, maxLength: MAX_CREDENTIAL_LENGTH + 2 }),
  },
)

/** A header as Node hands it over: absent, one value, or several (a repeated header). */
function headerOf(value: fc.Arbitrary<string>): fc.Arbitrary<string | string[] | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: value },
    { weight: 1, arbitrary: fc.array(value, { minLength: 0, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )
}

/** The documented shape of a refusal: status + code from SPEC's table, a reason explained in the docs. */
function expectDocumentedRefusal(status: number, body: string, event: DecisionEvent | undefined) {
  const problem = JSON.parse(body) as { status: number; code: string }
  expect(isDocumentedAnswer(status, problem.code), `${status} ${problem.code}`).toBe(true)
  expect(problem.status).toBe(status)
  expect(event, 'a decision event').toBeDefined()
  expect(isDocumentedReason(event!.reason), `reason ${event!.reason} is in docs/troubleshooting.md`).toBe(
    true,
  )
}

describe('pure parsers', () => {
  it(`extractCredential: ${RUNS} runs, never throws, returns the value unchanged or a documented refusal`, () => {
    fc.assert(
      fc.property(headerOf(fc.oneof(anyText, nearMisses(WORKER_KEY))), (raw) => {
        const result = extractCredential(raw)
        if (result.ok) {
          expect(result.value).toBe(typeof raw === 'string' ? raw : raw?.[0])
          // visible ASCII, inner spaces, and (as extractCredential stands) inner tabs
          expect(result.value).toMatch(/^[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/)
          expect(result.value).not.toContain(',')
          expect(result.value.length).toBeLessThanOrEqual(MAX_CREDENTIAL_LENGTH)
        } else {
          expect(['missing_credentials', 'invalid_request']).toContain(result.code)
          expect(isDocumentedReason(result.reason), result.reason).toBe(true)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it(`parseAuthorization: ${RUNS} runs, accepts only "Bearer" + one space + a token68`, () => {
    const schemes = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'BeArEr', 'Basic', 'Token', 'Bearer:', '')
    const separators = fc.constantFrom(' ', '  ', '\t', '', ' \t')
    const tokens = fc.oneof(nearMisses(TOKEN), fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,40}={0,2}$/), anyText)
    const values = fc.oneof(
      fc.tuple(schemes, separators, tokens).map(([scheme, sep, token]) => `${scheme}${sep}${token}`),
      anyText,
    )
    fc.assert(
      fc.property(headerOf(values), (raw) => {
        const result = parseAuthorization(raw)
        if (result.ok) {
          const value = typeof raw === 'string' ? raw : raw![0]!
          expect(value.toLowerCase().startsWith('bearer ')).toBe(true)
          expect(value.slice(7)).toBe(result.token)
          expect(result.token).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/)
        } else {
          expect(['missing_credentials', 'invalid_request']).toContain(result.code)
          expect(isDocumentedReason(result.reason), result.reason).toBe(true)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it(`checkWidgetKeyShape: ${RUNS} runs, never throws; a key with the prefix passes only with its exact layout`, async () => {
    const { key } = await createWidgetKey({ iterations: 1 })
    fc.assert(
      fc.property(
        fc.oneof(
          nearMisses(key),
          anyText,
          fc.string().map((s) => `wid_${s}`),
        ),
        (candidate) => {
          const shape = checkWidgetKeyShape(candidate, 'wid_')
          if (shape.ok && candidate.startsWith('wid_')) expect(candidate).toMatch(/^wid_[A-Za-z0-9_-]{32}$/)
          if (!shape.ok) expect(isDocumentedReason(shape.reason), shape.reason).toBe(true)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it(`parseHashRecord: ${RUNS} runs, a valid record or a HashRecordError that never quotes the hash`, () => {
    const salt = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex')
    const hash = pbkdf2Sync('key', salt, 1000, 32, 'sha256')
    const textSalt = 'Xb3kQ9zLm2Pq'
    const textHash = pbkdf2Sync('key', textSalt, 1000, 32, 'sha256')
    const ab64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '').replace(/\+/g, '.')
    const record = { algorithm: 'pbkdf2' as const, digest: 'sha256' as const, iterations: 1000, salt, hash }
    const valid: Array<[string, string]> = [
      [formatHashRecord(record, 'phc'), hash.toString('base64').replace(/=+$/, '')],
      [formatHashRecord(record, 'json'), hash.toString('hex')],
      [`$pbkdf2-sha256$1000$${ab64(salt)}$${ab64(hash)}`, ab64(hash)],
      [`pbkdf2_sha256$1000$${textSalt}$${textHash.toString('base64')}`, textHash.toString('base64')],
      [`pbkdf2:sha256:1000$${textSalt}$${textHash.toString('hex')}`, textHash.toString('hex')],
    ]
    const mutation = fc.oneof(
      fc.tuple(
        fc.constant('insert' as const),
        fc.nat(),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
      ),
      fc.tuple(fc.constant('delete' as const), fc.nat(), fc.integer({ min: 1, max: 6 })),
      fc.tuple(
        fc.constant('replace' as const),
        fc.nat(),
        fc.constantFrom('$', ':', ',', '=', '0', 'x', '-', '_', '.', '+', '/', '"', '}', ' ', '\u0000', 'é'),
      ),
      fc.tuple(fc.constant('truncate' as const), fc.nat(), fc.constant(0)),
    )
    const apply = (text: string, [kind, position, arg]: [string, number, string | number]) => {
      const at = text.length === 0 ? 0 : position % text.length
      if (kind === 'insert') return text.slice(0, at) + arg + text.slice(at)
      if (kind === 'delete') return text.slice(0, at) + text.slice(at + (arg as number))
      if (kind === 'replace') return text.slice(0, at) + arg + text.slice(at + 1)
      return text.slice(0, at)
    }
    const mutated = fc
      .tuple(fc.constantFrom(...valid), fc.array(mutation, { minLength: 0, maxLength: 3 }))
      .map(([[text, hashText], steps]) => ({ input: steps.reduce(apply, text) as unknown, hashText }))
    const objects = fc
      .record(
        {
          hash: fc.oneof(fc.constant(hash.toString('hex')), fc.string(), fc.integer(), fc.constant(null)),
          salt: fc.oneof(fc.constant(salt.toString('hex')), fc.string(), fc.uint8Array({ maxLength: 40 })),
          iter: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant(1000)),
          iterations: fc.oneof(fc.integer(), fc.constant('1000'), fc.constant(undefined)),
          digest: fc.oneof(fc.constantFrom('sha256', 'SHA-512', 'sha1', 'md5', ''), fc.string()),
          dklen: fc.oneof(fc.constant(32), fc.integer(), fc.string()),
        },
        { requiredKeys: [] },
      )
      .map((input) => ({ input: input as unknown, hashText: hash.toString('hex') }))
    const anything = fc.anything().map((input) => ({ input, hashText: hash.toString('hex') }))
    fc.assert(
      fc.property(fc.oneof(mutated, objects, anything), ({ input, hashText }) => {
        try {
          const parsed = parseHashRecord(input as never)
          expect(Buffer.isBuffer(parsed.hash) && parsed.hash.length >= 16).toBe(true)
          if (parsed.algorithm === 'pbkdf2') {
            expect(['sha1', 'sha256', 'sha512']).toContain(parsed.digest)
            expect(Number.isInteger(parsed.iterations) && parsed.iterations >= 1).toBe(true)
            expect(Buffer.isBuffer(parsed.salt)).toBe(true)
          }
        } catch (error) {
          expect(
            HashRecordError.is(error),
            `threw ${(error as Error)?.name}: ${(error as Error)?.message}`,
          ).toBe(true)
          expect((error as Error).message).not.toContain(hashText)
        }
      }),
      { numRuns: RUNS },
    )
  })
})

describe('guards in-process (the whole decision path, fake req/res)', () => {
  let events: DecisionEvent[] = []
  const onDecision = (event: DecisionEvent) => events.push(event)

  async function decide(guard: Guard, headers: Record<string, string | string[] | undefined>) {
    events = []
    const outcome = await runGuard(guard, fakeRequest(headers))
    return { ...outcome, event: events.at(-1) }
  }

  it(`requireWorkerKey: ${GUARD_RUNS} runs, allows exactly the key and nothing else`, async () => {
    const guard = requireWorkerKey({ keys: WORKER_KEY, onDecision })
    await fc.assert(
      fc.asyncProperty(headerOf(fc.oneof(nearMisses(WORKER_KEY), anyText)), async (value) => {
        const result = await decide(guard, { 'x-worker-key': value })
        const exact =
          value === WORKER_KEY || (Array.isArray(value) && value.length === 1 && value[0] === WORKER_KEY)
        expect(result.outcome === 'next', JSON.stringify(value)).toBe(exact)
        if (!exact) expectDocumentedRefusal(result.status, result.body, result.event)
      }),
      { numRuns: GUARD_RUNS },
    )
  })

  it(`verifyWidgetKey: ${GUARD_RUNS} runs, allows exactly the tenant's key for that tenant`, async () => {
    const { key, record } = await createWidgetKey({ iterations: 1 })
    secret(key)
    const guard = verifyWidgetKey({
      records: async (tenantId) => (tenantId === TENANT ? formatHashRecord(record, 'phc') : null),
      onDecision,
    })
    await fc.assert(
      fc.asyncProperty(
        headerOf(fc.oneof(nearMisses(key), anyText)),
        headerOf(fc.oneof(nearMisses(TENANT), anyText)),
        async (presented, tenant) => {
          const result = await decide(guard, { 'x-widget-key': presented, 'x-tenant-id': tenant })
          const single = (v: typeof presented) =>
            typeof v === 'string' ? v : v?.length === 1 ? v[0] : undefined
          const exact = single(presented) === key && single(tenant) === TENANT
          expect(result.outcome === 'next', JSON.stringify([presented, tenant])).toBe(exact)
          if (!exact) expectDocumentedRefusal(result.status, result.body, result.event)
        },
      ),
      { numRuns: GUARD_RUNS },
    )
  })

  it(`delegateBearerAuth: ${GUARD_RUNS} runs, allows exactly "Bearer <the token>"`, async () => {
    const guard = delegateBearerAuth({
      validator: async (token) => (token === TOKEN ? { active: true, subject: 'fuzz' } : { active: false }),
      onDecision,
    })
    const values = fc.oneof(
      fc
        .tuple(
          fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', 'Bearer\t', 'Basic ', ''),
          nearMisses(TOKEN),
        )
        .map(([a, b]) => a + b),
      anyText,
    )
    await fc.assert(
      fc.asyncProperty(headerOf(values), async (value) => {
        const result = await decide(guard, { authorization: value })
        const single = typeof value === 'string' ? value : value?.length === 1 ? value[0] : undefined
        const exact =
          single !== undefined && /^bearer $/i.test(single.slice(0, 7)) && single.slice(7) === TOKEN
        expect(result.outcome === 'next', JSON.stringify(value)).toBe(exact)
        if (!exact) expectDocumentedRefusal(result.status, result.body, result.event)
      }),
      { numRuns: GUARD_RUNS },
    )
  })
})

describe('guards over HTTP with raw bytes', () => {
  let port = 0
  let close: () => Promise<void>
  let widgetKey = ''

  beforeAll(async () => {
    const created = await createWidgetKey({ iterations: 1 })
    widgetKey = secret(created.key)
    const app = express()
    app.get('/worker', requireWorkerKey({ keys: WORKER_KEY }), (_req, res) => {
      res.json({ ok: true })
    })
    app.get(
      '/widget',
      verifyWidgetKey({
        records: async (t) => (t === TENANT ? formatHashRecord(created.record, 'phc') : null),
      }),
      (_req, res) => {
        res.json({ ok: true })
      },
    )
    app.get(
      '/bearer',
      delegateBearerAuth({
        validator: async (token) => (token === TOKEN ? { active: true } : { active: false }),
      }),
      (_req, res) => {
        res.json({ ok: true })
      },
    )
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    port = (server.address() as AddressInfo).port
    close = () => new Promise((resolve) => server.close(() => resolve()))
  })
  afterAll(async () => close?.())

  // CR and LF frame the request itself; every other byte, controls and obs-text included, is sent
  const bytes = (value: fc.Arbitrary<string>) =>
    value.map((v) => v.replace(/[\r\n]/g, '').replace(/[^\u0000-\u00ff]/g, '?'))
  // a value's surrounding spaces and tabs are not part of it in HTTP (RFC 9110 §5.5): Node strips them
  const fieldValue = (v: string) => v.replace(/^[ \t]+|[ \t]+$/g, '')

  async function check(path: string, headers: Array<[string, string]>, exact: boolean) {
    const res = await rawGet(port, path, headers)
    if (exact) {
      expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(200)
      return
    }
    expect(res.status, `${path} ${JSON.stringify(headers)}`).not.toBe(200)
    if (res.headers['content-type']?.startsWith('application/problem+json')) {
      const problem = JSON.parse(res.body) as { code: string }
      expect(isDocumentedAnswer(res.status, problem.code), `${res.status} ${problem.code}`).toBe(true)
    } else {
      // refused by Node's HTTP parser before any middleware ran (e.g. a NUL byte in a header)
      expect(res.status).toBe(400)
    }
  }

  it(`answers ${HTTP_RUNS} hostile worker-key requests with 200 only for the key`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(bytes(fc.oneof(nearMisses(WORKER_KEY), anyText)), { minLength: 0, maxLength: 2 }),
        async (values) => {
          const exact = values.length === 1 && fieldValue(values[0]!) === WORKER_KEY
          await check(
            '/worker',
            values.map((v) => ['X-Worker-Key', v]),
            exact,
          )
        },
      ),
      { numRuns: HTTP_RUNS },
    )
    expect((await rawGet(port, '/worker', [['X-Worker-Key', WORKER_KEY]])).status).toBe(200)
  })

  it(`answers ${HTTP_RUNS} hostile widget-key requests with 200 only for the tenant's key`, async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes(fc.oneof(nearMisses(widgetKey), anyText)),
        bytes(fc.oneof(nearMisses(TENANT), anyText)),
        async (key, tenant) => {
          const exact = fieldValue(key) === widgetKey && fieldValue(tenant) === TENANT
          await check(
            '/widget',
            [
              ['X-Widget-Key', key],
              ['X-Tenant-Id', tenant],
            ],
            exact,
          )
        },
      ),
      { numRuns: HTTP_RUNS },
    )
    expect(
      (
        await rawGet(port, '/widget', [
          ['X-Widget-Key', widgetKey],
          ['X-Tenant-Id', TENANT],
        ])
      ).status,
    ).toBe(200)
  })

  it(`answers ${HTTP_RUNS} hostile Authorization headers with 200 only for the token`, async () => {
    const values = bytes(
      fc.oneof(
        fc
          .tuple(fc.constantFrom('Bearer ', 'bearer ', 'Bearer  ', 'Basic '), nearMisses(TOKEN))
          .map(([a, b]) => a + b),
        anyText,
      ),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(values, { minLength: 0, maxLength: 2 }), async (list) => {
        const single = list.length === 1 ? fieldValue(list[0]!) : undefined
        const exact =
          single !== undefined && /^bearer $/i.test(single.slice(0, 7)) && single.slice(7) === TOKEN
        await check(
          '/bearer',
          list.map((v) => ['Authorization', v]),
          exact,
        )
      }),
      { numRuns: HTTP_RUNS },
    )
    expect((await rawGet(port, '/bearer', [['Authorization', `Bearer ${TOKEN}`]])).status).toBe(200)
  })
})

/**
 * `origins` is a promise that only the listed pages use a tenant's key. Normalising the request's
 * `Origin` with the URL parser let spellings no browser sends (a path, userinfo, percent-encoding,
 * upper case) stand for an allowed origin. The header must be exactly a serialised origin.
 */
import fc from 'fast-check'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { type DecisionEvent, verifyWidgetKey, type WidgetKeyOptions } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { configuredOrigin, parseRequestOrigin } from '../../src/widget-key/origins.js'
import { expressVersions } from '../helpers/apps.js'
import { newKey } from './widget-support.js'

const SHOP = 'https://shop.example.com'

/** Origin headers an attacker's client can send that name more, or other, than `SHOP`. */
const SPOOFS = [
  `${SHOP}/evil`,
  `${SHOP}/`,
  `${SHOP}?q=1`,
  `${SHOP}#x`,
  'https://a@shop.example.com',
  'https://shop.example.com@evil.example.net',
  'https://shop%2eexample.com',
  'https://shop.example.co%6d',
  'https://SHOP.example.com',
  'HTTPS://shop.example.com',
  'https://shop.example.com:443',
  'https://shop.example.com\\evil',
  'https:shop.example.com',
  'https:/shop.example.com',
  'null',
]

describe.each(expressVersions)('Origin headers that are not serialised origins ($name)', ({ express }) => {
  async function setup(where: 'record' | 'option') {
    const { key, record } = await newKey()
    const store = memoryRecordStore({
      initial: { acme: where === 'record' ? { record, origins: [SHOP] } : record },
    })
    const events: DecisionEvent[] = []
    const options: WidgetKeyOptions = { records: store.records, onDecision: (e) => events.push(e) }
    if (where === 'option') options.origins = [SHOP]
    const app = express()
    app.get('/widget/config', verifyWidgetKey(options), (_req, res) => {
      res.json({ ok: true })
    })
    const call = (origin: string) =>
      request(app)
        .get('/widget/config')
        .set('X-Tenant-Id', 'acme')
        .set('X-Widget-Key', key)
        .set('Origin', origin)
    return { call, events }
  }

  for (const where of ['record', 'option'] as const) {
    it(`refuses every spoofed spelling of an allowed origin with 403 forbidden_origin (origins in the ${where})`, async () => {
      const { call, events } = await setup(where)
      await call(SHOP).expect(200)
      for (const spoof of SPOOFS) {
        const res = await call(spoof)
        expect({ spoof, status: res.status, code: res.body.code }).toEqual({
          spoof,
          status: 403,
          code: 'forbidden_origin',
        })
      }
      expect(events.filter((e) => e.reason === 'origin_malformed').length).toBeGreaterThan(0)
    })
  }

  it('answers 500 record_invalid for a stored origin that names more than an origin, never a looser check', async () => {
    const { key, record } = await newKey()
    const store = memoryRecordStore({ initial: { acme: { record, origins: [`${SHOP}/widget`] } } })
    const events: DecisionEvent[] = []
    const app = express()
    app.get(
      '/widget/config',
      verifyWidgetKey({ records: store.records, onDecision: (e) => events.push(e) }),
      (_req, res) => {
        res.json({ ok: true })
      },
    )
    await request(app)
      .get('/widget/config')
      .set('X-Tenant-Id', 'acme')
      .set('X-Widget-Key', key)
      .set('Origin', SHOP)
      .expect(500)
    expect(events.at(-1)?.reason).toBe('record_invalid')
  })
})

describe('configured origins', () => {
  const records = async () => null

  it('are TypeErrors at construction when they name more than an origin, with the origin to write instead', () => {
    expect(() => verifyWidgetKey({ records, origins: [`${SHOP}/widget`] })).toThrow(
      /"origins".*is not an origin.*write "https:\/\/shop\.example\.com"/,
    )
    expect(() => verifyWidgetKey({ records, origins: ['https://shop%2eexample.com'] })).toThrow(
      /not an origin/,
    )
    expect(() => verifyWidgetKey({ records, origins: ['shop.example.com'] })).toThrow(/not an origin/)
  })

  it('never repeat an entry with userinfo, which may hold a password', () => {
    let message = ''
    try {
      verifyWidgetKey({ records, origins: ['https://admin:hunter2-password@shop.example.com'] })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/userinfo/)
    expect(message).not.toContain('hunter2')
  })

  it('accept spellings that name one origin unambiguously, as that origin', () => {
    for (const spelling of [
      'https://Shop.Example.com',
      `${SHOP}/`,
      `${SHOP}:443`,
      'HTTPS://shop.example.com:443/',
    ]) {
      expect(configuredOrigin(spelling)).toBe(SHOP)
    }
    expect(configuredOrigin('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080')
    expect(configuredOrigin('*')).toBe('*')
  })
})

describe('the Origin parser', () => {
  const scheme = fc.constantFrom('http', 'https')
  const port = fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined })
  const origin = fc
    .tuple(scheme, fc.domain(), port)
    .map(([s, host, p]) => new URL(`${s}://${host}${p === undefined ? '' : `:${p}`}`).origin)

  it('accepts every serialised origin exactly as it is, and reads the same origin from its configuration', () => {
    fc.assert(
      fc.property(origin, (o) => {
        expect(parseRequestOrigin(o)).toBe(o)
        expect(configuredOrigin(o)).toBe(o)
      }),
    )
  })

  it('refuses an origin with anything added: a path, query, fragment, userinfo, a trailing slash', () => {
    const addition = fc.oneof(
      fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
      fc.webQueryParameters().map((q) => `?${q}`),
      fc.webFragments().map((f) => `#${f}`),
    )
    fc.assert(
      fc.property(origin, addition, fc.webAuthority(), (o, extra, user) => {
        expect(parseRequestOrigin(`${o}${extra}`)).toBeUndefined()
        const [s, rest] = o.split('://') as [string, string]
        const userinfo = user.replace(/[@/?#:]/g, '') || 'u'
        expect(parseRequestOrigin(`${s}://${userinfo}@${rest}`)).toBeUndefined()
      }),
    )
  })

  it('refuses an origin with a percent-encoded or upper-case character in it', () => {
    fc.assert(
      fc.property(origin, fc.nat(), (o, at) => {
        const [s, rest] = o.split('://') as [string, string]
        const letters = [...rest].map((c, i) => [c, i] as const).filter(([c]) => /[a-z]/.test(c))
        fc.pre(letters.length > 0)
        const [c, i] = letters[at % letters.length]!
        const encoded = `${s}://${rest.slice(0, i)}%${c.charCodeAt(0).toString(16)}${rest.slice(i + 1)}`
        const upper = `${s}://${rest.slice(0, i)}${c.toUpperCase()}${rest.slice(i + 1)}`
        expect(parseRequestOrigin(encoded)).toBeUndefined()
        expect(parseRequestOrigin(upper)).toBeUndefined()
      }),
    )
  })

  it('accepts only strings that are their own serialised origin, whatever it is given', () => {
    const anything = fc.oneof(
      fc.string(),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      origin,
    )
    fc.assert(
      fc.property(anything, (value) => {
        const parsed = parseRequestOrigin(value)
        if (parsed === undefined) return
        expect(parsed).toBe(value)
        expect(new URL(value).origin).toBe(value)
        expect(value).not.toMatch(/[@%?#\\A-Z\s]|:\/\/.*\//)
      }),
      { numRuns: 2_000 },
    )
  })
})

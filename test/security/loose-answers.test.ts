import { type AddressInfo, createServer, type Server } from 'node:net'
import fc from 'fast-check'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { interpretContractAnswer } from '../../src/bearer/validators/http.js'
import { delegateBearerAuth, httpValidator, introspectionValidator, KeywardError } from '../../src/index.js'
import { decisions, protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'

// a real service whose answers the test writes: (the presented token) => JSON body. Plain
// TCP rather than node:http, whose responses the suite's leak scanner reads: this service
// echoes the token on purpose.
let answer: (token: string) => unknown = () => ({})
let server: Server
let base = ''

function presented(head: string, body: string): string {
  const header = /^authorization: Bearer (.+)$/im.exec(head)
  return header?.[1]?.trim() ?? new URLSearchParams(body).get('token') ?? ''
}

beforeAll(async () => {
  server = createServer((socket) => {
    let raw = ''
    socket.on('data', (chunk) => {
      raw += chunk.toString('latin1')
      const end = raw.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = raw.slice(0, end)
      const length = Number(/^content-length: (\d+)$/im.exec(head)?.[1] ?? 0)
      const body = raw.slice(end + 4)
      if (body.length < length) return
      const text = JSON.stringify(answer(presented(head, body)))
      socket.end(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const TOKEN = secret('kwt_a-token-the-service-echoes-back-0001')
const hour = () => Math.floor(Date.now() / 1000) + 3600

describe.each(expressVersions)('httpValidator reading answers strictly, with $name', ({ express }) => {
  const run = async (body: (token: string) => unknown) => {
    answer = body
    const seen = decisions()
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: httpValidator({ url: `${base}/validate` }),
        onDecision: seen.onDecision,
      }),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${TOKEN}`)
    return { res, event: seen.events[0] ?? {} }
  }

  it.each([
    ['an ill-typed flag', { valid: true, active: 'false' }],
    ['contradicting flags', { valid: true, active: false }],
    ['a string flag alone', { valid: 'true' }],
    ['a number flag', { active: 1 }],
    ['an "exp" that is not seconds', { active: true, exp: 'tomorrow' }],
    ['an "exp" of another type', { active: true, exp: { at: 1 } }],
    ['a "scope" of another type', { active: true, scope: 42 }],
  ])('answers 503 validator_bad_response to %s', async (_what, body) => {
    const { res, event } = await run(() => body)
    expect(res.status).toBe(503)
    expect(event).toMatchObject({ outcome: 'error', reason: 'validator_bad_response' })
  })

  it('reads an "exp" sent as a string of digits: a past one is an expired token', async () => {
    const { res, event } = await run(() => ({ active: true, exp: '1000' }))
    expect(res.status).toBe(401)
    expect(event).toMatchObject({ reason: 'token_expired' })
    const later = await run(() => ({ active: true, exp: String(hour()) }))
    expect(later.res.status).toBe(200)
    expect(later.res.body.expiresAt).toBeDefined()
  })

  it('drops every member equal to the token from req.auth.claims', async () => {
    const { res } = await run((token) => ({
      active: true,
      sub: 'echo',
      token,
      nested: { access_token: token, keep: 'yes' },
      list: [token, 'kept'],
      authorization: `Bearer ${token}`,
    }))
    expect(res.status).toBe(200)
    expect(res.body.claims).toEqual({ active: true, sub: 'echo', nested: { keep: 'yes' }, list: ['kept'] })
  })
})

describe('introspectionValidator reading answers strictly', () => {
  const run = async (body: unknown) => {
    answer = (token) => (typeof body === 'function' ? body(token) : body)
    const seen = decisions()
    const validator = introspectionValidator({
      url: `${base}/introspect`,
      clientId: 'api',
      clientSecret: secret('introspection-client-secret-0001'),
    })
    const app = protectedApp(
      expressVersions[1].express,
      delegateBearerAuth({ validator, onDecision: seen.onDecision }),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${TOKEN}`)
    return { res, event: seen.events[0] ?? {} }
  }

  it.each([
    ['an "exp" that is not seconds', { active: true, exp: 'soon' }],
    ['an "nbf" that is not seconds', { active: true, nbf: true }],
    ['a "scope" that is not a string', { active: true, scope: ['a'], exp: 9_999_999_999 }],
  ])('answers 503 validator_bad_response to %s', async (_what, body) => {
    const { res, event } = await run(body)
    expect(res.status).toBe(503)
    expect(event).toMatchObject({ reason: 'validator_bad_response' })
  })

  it('drops members equal to the token from the claims', async () => {
    const { res } = await run((token: string) => ({ active: true, sub: 'i', token, exp: String(hour()) }))
    expect(res.status).toBe(200)
    expect(res.body.claims.token).toBeUndefined()
  })
})

describe('interpretContractAnswer (property)', () => {
  const flag = fc.oneof(
    fc.constant(undefined),
    fc.boolean(),
    fc.constantFrom('true', 'false', 0, 1, null, [], {}),
  )
  const exp = fc.oneof(
    fc.constant(undefined),
    fc.integer({ min: 0, max: 4_000_000_000 }),
    fc.integer({ min: 0, max: 4_000_000_000 }).map(String),
    fc.string(),
    fc.double(),
    fc.boolean(),
  )
  const body = fc.record(
    {
      active: flag,
      valid: flag,
      exp,
      scope: fc.oneof(fc.string(), fc.array(fc.string()), fc.integer()),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  )
  const status = fc.oneof(fc.constantFrom(200, 201, 204, 401, 403), fc.integer({ min: 100, max: 599 }))

  it('accepts only when every flag present is exactly true, and never throws anything but a 503', () => {
    fc.assert(
      fc.property(status, body, (code, answer) => {
        let result: ReturnType<typeof interpretContractAnswer> | undefined
        try {
          result = interpretContractAnswer({
            status: code,
            headers: {},
            body: answer,
            text: JSON.stringify(answer),
          })
        } catch (error) {
          expect(KeywardError.is(error)).toBe(true)
          expect((error as KeywardError).code).toBe('auth_unavailable')
          return
        }
        if (!result.active) {
          expect(code === 401 || code === 403 || answer.active === false || answer.valid === false).toBe(true)
          return
        }
        expect(code >= 200 && code < 300).toBe(true)
        const flags = [answer.active, answer.valid].filter((value) => value !== undefined)
        expect(flags.length).toBeGreaterThan(0)
        expect(flags.every((value) => value === true)).toBe(true)
        // an "exp" present is always read, never ignored
        if (answer.exp !== undefined && answer.exp !== null) {
          expect(result.expiresAt?.getTime()).toBe(new Date(Number(answer.exp) * 1000).getTime())
        }
      }),
      { numRuns: 3000 },
    )
  })
})

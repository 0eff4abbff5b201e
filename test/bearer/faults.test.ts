import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, httpValidator, introspectionValidator, jwtValidator } from '../../src/index.js'
import { type AuthService, type AuthServiceFault, startAuthService } from '../../src/testing/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { decisions, protectedApp } from './support.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService({ slowDelay: 2000 })
  secret(auth.client.secret)
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.requests.length = 0
})

const FAULTS: Array<[AuthServiceFault, string]> = [
  ['down', 'validator_failed'],
  ['reset', 'validator_failed'],
  ['error', 'validator_failed'],
  ['malformed', 'validator_bad_response'],
]

describe.each(expressVersions)(
  'delegateBearerAuth when the auth service fails, with $name',
  ({ express }) => {
    it.each(FAULTS)(
      'answers 503 auth_unavailable while the service is %s, and 200 once it recovers',
      async (mode, reason) => {
        const seen = decisions()
        const app = protectedApp(
          express,
          delegateBearerAuth({
            validator: httpValidator({ url: auth.validateUrl }),
            circuitBreaker: false,
            onDecision: seen.onDecision,
          }),
        )
        const token = secret(await auth.issue())
        auth.fault(mode)
        const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
        expect(res.status).toBe(503)
        expect(res.body.code).toBe('auth_unavailable')
        expect(res.headers['retry-after']).toBe('1')
        expect(seen.events[0]).toMatchObject({ outcome: 'error', reason })

        auth.fault(undefined)
        await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
      },
    )

    it('answers 503 validator_timeout when the service is slower than the guard timeout, and 200 once it is fast again', async () => {
      const seen = decisions()
      const app = protectedApp(
        express,
        delegateBearerAuth({
          validator: httpValidator({ url: auth.validateUrl }),
          timeout: 150,
          circuitBreaker: false,
          onDecision: seen.onDecision,
        }),
      )
      const token = secret(await auth.issue())
      auth.fault('slow')
      const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('1')
      expect(seen.events[0]).toMatchObject({ outcome: 'error', reason: 'validator_timeout' })

      auth.fault(undefined)
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
    })

    it('answers 503 validator_timeout when the httpValidator timeout passes first', async () => {
      const seen = decisions()
      const app = protectedApp(
        express,
        delegateBearerAuth({
          validator: httpValidator({ url: auth.validateUrl, timeout: 150 }),
          circuitBreaker: false,
          onDecision: seen.onDecision,
        }),
      )
      const token = secret(await auth.issue())
      auth.fault('slow')
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(503)
      expect(seen.events[0]).toMatchObject({ reason: 'validator_timeout' })
    })

    it('answers 503 validator_timeout for a custom validator that ignores its signal', async () => {
      const token = secret('opaque-token-for-a-validator-that-hangs')
      const seen = decisions()
      const app = protectedApp(
        express,
        delegateBearerAuth({
          validator: () => new Promise(() => {}),
          timeout: 100,
          onDecision: seen.onDecision,
        }),
      )
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(503)
      expect(seen.events[0]).toMatchObject({ reason: 'validator_timeout' })
    })

    it('does not remember a failure: the first request after recovery asks the service again', async () => {
      const app = protectedApp(
        express,
        delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), circuitBreaker: false }),
      )
      const token = secret(await auth.issue())
      auth.fault('error')
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(503)
      auth.fault(undefined)
      auth.requests.length = 0
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
      expect(auth.requests.filter((entry) => entry.path === '/validate')).toHaveLength(1)
    })
  },
)

describe('introspectionValidator when the authorization server fails', () => {
  it.each(FAULTS)('answers 503 while the server is %s, and 200 once it recovers', async (mode, reason) => {
    const seen = decisions()
    const app = protectedApp(
      expressVersions[1].express,
      delegateBearerAuth({
        validator: introspectionValidator({
          url: auth.introspectionUrl,
          clientId: auth.client.id,
          clientSecret: auth.client.secret,
        }),
        circuitBreaker: false,
        onDecision: seen.onDecision,
      }),
    )
    const token = secret(await auth.issue())
    auth.fault(mode)
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(503)
    expect(seen.events[0]).toMatchObject({ reason })
    auth.fault(undefined)
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
  })
})

describe('jwtValidator when the JWKS or discovery document cannot be fetched', () => {
  it.each(FAULTS)('answers 503, not 401, while the issuer is %s, and 200 once it recovers', async (mode) => {
    const seen = decisions()
    const app = protectedApp(
      expressVersions[1].express,
      delegateBearerAuth({
        validator: jwtValidator({ issuer: auth.issuer, audience: auth.audience }),
        circuitBreaker: false,
        onDecision: seen.onDecision,
      }),
    )
    const token = secret(await auth.issue({ format: 'jwt' }))
    auth.fault(mode)
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(503)
    expect(seen.events[0]).toMatchObject({ outcome: 'error' })
    expect(String(seen.events[0]?.reason)).toMatch(/^validator_(failed|bad_response)$/)
    auth.fault(undefined)
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
  })

  it('answers 503 when only the JWKS (not discovery) fails', async () => {
    const app = protectedApp(
      expressVersions[1].express,
      delegateBearerAuth({
        validator: jwtValidator({ jwksUri: auth.jwksUri, issuer: auth.issuer, audience: auth.audience }),
        circuitBreaker: false,
      }),
    )
    const token = secret(await auth.issue({ format: 'jwt' }))
    auth.fault('error')
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(503)
    auth.fault(undefined)
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
  })
})

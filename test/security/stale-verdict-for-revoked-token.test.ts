import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, httpValidator } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { decisions, protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { junkToken } from './support.js'

let now = Date.now()
const clock = { now: () => now }
let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.refuseWith(401)
  auth.requests.length = 0
  now = Date.now()
})

describe.each(expressVersions)("staleIfError and a revoked token's holder, with $name", ({ express }) => {
  const setup = async () => {
    const seen = decisions()
    const guard = delegateBearerAuth({
      validator: httpValidator({ url: auth.validateUrl }),
      cacheTtl: 1000,
      staleIfError: 60_000,
      negativeTtl: 0,
      clock,
      onDecision: seen.onDecision,
    })
    const app = protectedApp(express, guard)
    const token = secret(await auth.issue({ subject: 'revoked-later' }))
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
    auth.revoke(token)
    now += 2000
    return { app, token, seen, guard }
  }

  it.each([
    [429, 'validator_rate_limited'],
    [400, 'validator_request_refused'],
  ] as const)(
    'does not bring back the old "yes" when the service answers the token %i',
    async (status, reason) => {
      const { app, token, seen } = await setup()
      auth.refuseWith(status, { 'Retry-After': '5' })
      const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(503)
      expect(seen.events.at(-1)).toMatchObject({ outcome: 'error', reason })
    },
  )

  it('does not bring back the old "yes" after junk tokens that the service answers 400 (the circuit stays closed)', async () => {
    const { app, token, guard } = await setup()
    auth.refuseWith(400)
    for (let i = 0; i < 10; i++)
      await request(app).get('/items').set('Authorization', `Bearer ${junkToken()}`).expect(503)
    expect(guard.stats().circuitOpens).toBe(0)
    auth.refuseWith(401)
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(401)
  })

  it('still serves a stale verdict while the service itself is down', async () => {
    const { app, seen } = await setup()
    const other = secret(await auth.issue({ subject: 'still-valid' }))
    await request(app).get('/items').set('Authorization', `Bearer ${other}`).expect(200)
    now += 2000
    auth.fault('error')
    const res = await request(app).get('/items').set('Authorization', `Bearer ${other}`)
    expect(res.status).toBe(200)
    expect(seen.events.at(-1)).toMatchObject({ reason: 'stale_if_error', cache: 'stale' })
  })
})

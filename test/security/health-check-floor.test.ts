import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, httpValidator, introspectionValidator, jwtValidator } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { secret } from '../helpers/secrets.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
  secret(auth.client.secret)
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.requests.length = 0
})

const calls = (path: string) => auth.requests.filter((entry) => entry.path === path).length
const probe = async (ready: () => Promise<void>) => {
  // a health check polled in a loop, and a few at once
  for (let i = 0; i < 5; i++) await ready()
  await Promise.all(Array.from({ length: 5 }, () => ready()))
}

describe("validators' ready() under a polling health check", () => {
  it('httpValidator calls the service at most once for repeated ready() within a second', async () => {
    const guard = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
    await probe(guard.ready)
    expect(calls('/validate')).toBe(1)
  })

  it('httpValidator also reuses a failed readiness answer within a second', async () => {
    auth.fault('error')
    const guard = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
    for (let i = 0; i < 5; i++)
      await expect(guard.ready()).rejects.toMatchObject({ code: 'auth_unavailable' })
    expect(calls('/validate')).toBe(1)
  })

  it('introspectionValidator calls the server at most once for repeated ready() within a second', async () => {
    const validator = introspectionValidator({
      url: auth.introspectionUrl,
      clientId: auth.client.id,
      clientSecret: auth.client.secret,
    })
    await probe(delegateBearerAuth({ validator }).ready)
    expect(calls('/introspect')).toBe(1)
  })

  it('jwtValidator with jwksUri does not reload keys it fetched recently', async () => {
    const validator = jwtValidator({ jwksUri: auth.jwksUri, issuer: auth.issuer, audience: auth.audience })
    await probe(delegateBearerAuth({ validator }).ready)
    expect(calls('/jwks')).toBe(1)
  })

  it('jwtValidator with discovery does not reload keys it fetched recently', async () => {
    const validator = jwtValidator({ issuer: auth.issuer, audience: auth.audience })
    await probe(delegateBearerAuth({ validator }).ready)
    expect(calls('/jwks')).toBe(1)
    expect(calls('/.well-known/openid-configuration')).toBe(1)
  })
})

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { secret } from '../helpers/secrets.js'

let auth: AuthService
let now = Date.now()

beforeAll(async () => {
  auth = await startAuthService({ now: () => now, slowDelay: 100 })
  secret(auth.client.secret)
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.requests.length = 0
  now = Date.now()
})

const validate = (token: string | undefined, body: object = { service_id: 'test', client_ip: '127.0.0.1' }) =>
  fetch(auth.validateUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  })

const introspect = (token: string, credentials = `${auth.client.id}:${auth.client.secret}`) =>
  fetch(auth.introspectionUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  })

describe('startAuthService', () => {
  it('listens on 127.0.0.1 and names its endpoints under one origin', () => {
    expect(auth.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(auth.validateUrl).toBe(`${auth.url}/validate`)
    expect(auth.introspectionUrl).toBe(`${auth.url}/introspect`)
    expect(auth.jwksUri).toBe(`${auth.url}/jwks`)
    expect(auth.issuer).toBe(auth.url)
  })

  it('accepts an issued token on /validate from the Authorization header, with sub, scope and exp', async () => {
    const token = secret(await auth.issue({ subject: 'erin', scopes: ['a', 'b'], expiresIn: 60 }))
    const res = await validate(token)
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      valid: true,
      active: true,
      sub: 'erin',
      scope: 'a b',
      client_id: auth.client.id,
    })
    expect(body.exp).toBe(Math.floor(now / 1000) + 60)
  })

  it('refuses on /validate a token sent only in the body, an unknown, a revoked and an expired token', async () => {
    const token = secret(await auth.issue())
    expect((await validate(undefined, { token })).status).toBe(401)
    expect((await validate(secret('kwt_unknown-to-the-test-service'))).status).toBe(401)
    const revoked = secret(await auth.issue())
    auth.revoke(revoked)
    expect((await validate(revoked)).status).toBe(401)
    const expiring = secret(await auth.issue({ expiresIn: 10 }))
    expect((await validate(expiring)).status).toBe(200)
    now += 11_000
    expect((await validate(expiring)).status).toBe(401)
  })

  it('answers RFC 7662 introspection for an authenticated client and refuses a wrong client secret', async () => {
    const token = secret(await auth.issue({ subject: 'frank', scopes: ['x'] }))
    const res = await introspect(token)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      active: true,
      sub: 'frank',
      scope: 'x',
      token_type: 'Bearer',
      aud: auth.audience,
    })
    expect(await (await introspect(secret('kwt_unknown-token-for-introspection'))).json()).toEqual({
      active: false,
    })
    const refused = await introspect(token, `${auth.client.id}:${secret('wrong-client-secret-value')}`)
    expect(refused.status).toBe(401)
  })

  it('serves discovery documents at both well-known paths that point at its JWKS', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const doc = (await (await fetch(`${auth.url}${path}`)).json()) as Record<string, unknown>
      expect(doc).toMatchObject({
        issuer: auth.issuer,
        jwks_uri: auth.jwksUri,
        introspection_endpoint: auth.introspectionUrl,
      })
    }
    const jwks = (await (await fetch(auth.jwksUri)).json()) as { keys: Array<Record<string, unknown>> }
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' })
    expect(jwks.keys[0]).not.toHaveProperty('d')
  })

  it('mints JWT access tokens with iss, aud, sub, scope and typ at+jwt', async () => {
    const token = secret(
      await auth.issue({ format: 'jwt', subject: 'gina', scopes: ['r'], claims: { tenant: 't1' } }),
    )
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' })
    expect(payload).toMatchObject({
      iss: auth.issuer,
      aud: auth.audience,
      sub: 'gina',
      scope: 'r',
      tenant: 't1',
    })
  })

  it('logs each request with token fingerprints and body keys, never a token', async () => {
    const token = secret(await auth.issue())
    await validate(token)
    await introspect(token)
    expect(auth.requests).toEqual([
      {
        method: 'POST',
        path: '/validate',
        authorization: true,
        bodyKeys: ['service_id', 'client_ip'],
        tokenFingerprint: fingerprint(token),
      },
      {
        method: 'POST',
        path: '/introspect',
        authorization: true,
        bodyKeys: ['token'],
        tokenFingerprint: fingerprint(token),
      },
    ])
    expect(JSON.stringify(auth.requests)).not.toContain(token)
  })

  it('refuses connections while down, and answers again once the fault ends', async () => {
    const token = secret(await auth.issue())
    auth.fault('down')
    await expect(validate(token)).rejects.toThrow()
    auth.fault(undefined)
    expect((await validate(token)).status).toBe(200)
  })

  it('resets the connection after reading the request in reset mode', async () => {
    const token = secret(await auth.issue())
    auth.fault('reset')
    await expect(validate(token)).rejects.toThrow()
    expect(auth.requests).toHaveLength(1)
  })

  it('answers 500 in error mode and invalid JSON in malformed mode', async () => {
    const token = secret(await auth.issue())
    auth.fault('error')
    expect((await validate(token)).status).toBe(500)
    auth.fault('malformed')
    const res = await validate(token)
    expect(res.status).toBe(200)
    await expect(res.json()).rejects.toThrow()
  })

  it('answers only after the configured delay in slow mode', async () => {
    const token = secret(await auth.issue())
    auth.fault('slow', { delay: 120 })
    const started = performance.now()
    expect((await validate(token)).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(100)
  })

  it('refuses an unknown fault mode with a TypeError', () => {
    expect(() => auth.fault('flaky' as never)).toThrow(TypeError)
  })

  it('stops listening on close()', async () => {
    const other = await startAuthService()
    const url = other.validateUrl
    await other.close()
    await expect(fetch(url, { method: 'POST' })).rejects.toThrow()
  })
})

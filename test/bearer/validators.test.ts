import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  delegateBearerAuth,
  fromEnv,
  httpValidator,
  introspectionValidator,
  jwtValidator,
  type TokenValidator,
} from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { decisions, protectedApp } from './support.js'

let auth: AuthService
const express = expressVersions[1].express

beforeAll(async () => {
  auth = await startAuthService()
  secret(auth.client.secret)
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.requests.length = 0
})

/** Runs one request with `token` through a guard built on `validator`; returns status, body and the decision. */
async function check(validator: TokenValidator, token: string) {
  const seen = decisions()
  const app = protectedApp(express, delegateBearerAuth({ validator, onDecision: seen.onDecision }))
  const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
  return { status: res.status, body: res.body, event: seen.events[0] ?? {} }
}

describe('httpValidator', () => {
  it('reads another answer shape through mapResponse', async () => {
    const token = secret(await auth.issue({ subject: 'mapped' }))
    const validator = httpValidator({
      url: auth.validateUrl,
      mapResponse: ({ status, body }) =>
        status === 200
          ? { active: true, subject: `user:${(body as { sub: string }).sub}`, scopes: ['all'] }
          : { active: false },
    })
    const { status, body } = await check(validator, token)
    expect(status).toBe(200)
    expect(body).toMatchObject({ subject: 'user:mapped', scopes: ['all'] })
  })

  it('treats a mapResponse that throws as cannot decide (503), not as a refusal', async () => {
    const token = secret(await auth.issue())
    const validator = httpValidator({
      url: auth.validateUrl,
      mapResponse: () => {
        throw new Error('unexpected shape')
      },
    })
    const { status, event } = await check(validator, token)
    expect(status).toBe(503)
    expect(event).toMatchObject({ reason: 'validator_bad_response' })
  })

  it('sends serviceId, the client address and extra headers, and the token only in Authorization', async () => {
    let seen: { headers: Record<string, unknown>; body: string } | undefined
    const server: Server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        seen = { headers: req.headers, body }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"valid":true,"sub":"svc"}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/check?v=1`
      const token = secret('opaque-token-sent-to-a-recording-server')
      const validator = httpValidator({
        url,
        serviceId: 'items-api',
        headers: { 'X-Service-Key': 'not-a-secret-here' },
      })
      expect((await check(validator, token)).status).toBe(200)
      expect(seen?.headers.authorization).toBe(`Bearer ${token}`)
      expect(seen?.headers['x-service-key']).toBe('not-a-secret-here')
      const body = JSON.parse(seen?.body ?? '{}')
      expect(body).toEqual({ service_id: 'items-api', client_ip: expect.stringMatching(/127\.0\.0\.1/) })
      expect(seen?.body).not.toContain(token)
      await validator.close()
    } finally {
      server.close()
    }
  })

  it('does not follow a redirect, which would carry the token elsewhere: 503 validator_bad_response', async () => {
    let followed = false
    const server: Server = createServer((req, res) => {
      if (req.url === '/elsewhere') followed = true
      res.writeHead(307, { location: '/elsewhere' }).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/validate`
      const { status, event } = await check(
        httpValidator({ url }),
        secret('opaque-token-for-a-redirecting-server'),
      )
      expect(status).toBe(503)
      expect(event).toMatchObject({ reason: 'validator_bad_response' })
      expect(followed).toBe(false)
    } finally {
      server.close()
    }
  })

  it('ready() rejects naming the variable while it is unset, and resolves once it is set (F1)', async () => {
    const variable = 'KEYWARD_TEST_HTTP_VALIDATOR_URL'
    delete process.env[variable]
    const validator = httpValidator({ url: fromEnv(variable) })
    try {
      await expect(validator.ready?.()).rejects.toMatchObject({
        code: 'server_misconfigured',
        reason: 'validator_unset',
      })
      await expect(validator.ready?.()).rejects.toThrow(variable)
      process.env[variable] = auth.validateUrl
      await expect(validator.ready?.()).resolves.toBeUndefined()
      expect(auth.requests.at(-1)).toMatchObject({ path: '/validate', authorization: false })
    } finally {
      delete process.env[variable]
    }
  })

  it('ready() rejects with auth_unavailable while the service is down', async () => {
    auth.fault('down')
    await expect(httpValidator({ url: auth.validateUrl }).ready?.()).rejects.toMatchObject({
      code: 'auth_unavailable',
    })
  })
})

describe('introspectionValidator', () => {
  const options = () => ({
    url: auth.introspectionUrl,
    clientId: auth.client.id,
    clientSecret: auth.client.secret,
  })

  it('accepts an active token with HTTP Basic client authentication and reads sub, scope and exp', async () => {
    const token = secret(await auth.issue({ subject: 'carol', scopes: ['a', 'b'], expiresIn: 120 }))
    const { status, body } = await check(introspectionValidator(options()), token)
    expect(status).toBe(200)
    expect(body).toMatchObject({
      subject: 'carol',
      scopes: ['a', 'b'],
      claims: { client_id: auth.client.id, token_type: 'Bearer' },
    })
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now())
    expect(auth.requests.at(-1)).toMatchObject({
      path: '/introspect',
      authorization: true,
      bodyKeys: ['token', 'token_type_hint'],
    })
  })

  it('authenticates with client_secret_post when asked to', async () => {
    const token = secret(await auth.issue())
    const { status } = await check(
      introspectionValidator({ ...options(), clientAuthentication: 'client_secret_post' }),
      token,
    )
    expect(status).toBe(200)
    const sent = auth.requests.at(-1)
    expect(sent?.authorization).toBe(false)
    expect(sent?.bodyKeys.sort()).toEqual(['client_id', 'client_secret', 'token', 'token_type_hint'])
  })

  it('refuses revoked and expired tokens with 401', async () => {
    const revoked = secret(await auth.issue())
    auth.revoke(revoked)
    const expired = secret(await auth.issue({ expiresIn: -5 }))
    expect((await check(introspectionValidator(options()), revoked)).status).toBe(401)
    expect((await check(introspectionValidator(options()), expired)).status).toBe(401)
  })

  it('refuses a token minted for another audience when audience is set', async () => {
    const token = secret(await auth.issue())
    const { status, event } = await check(
      introspectionValidator({ ...options(), audience: 'another-api' }),
      token,
    )
    expect(status).toBe(401)
    expect(event).toMatchObject({ reason: 'token_claim_invalid' })
  })

  it('answers 500 validator_client_rejected, not 401, when the server refuses our client secret', async () => {
    const token = secret(await auth.issue())
    const wrong = secret('definitely-not-the-client-secret')
    const validator = introspectionValidator({ ...options(), clientSecret: wrong })
    const { status, event } = await check(validator, token)
    expect(status).toBe(500)
    expect(event).toMatchObject({ outcome: 'error', reason: 'validator_client_rejected' })
    await expect(validator.ready?.()).rejects.toMatchObject({ reason: 'validator_client_rejected' })
  })

  it('reads clientSecret from a resolver at request time: 500 naming the variable while unset, 200 once set (F1)', async () => {
    const variable = 'KEYWARD_TEST_INTROSPECTION_SECRET'
    delete process.env[variable]
    const warnings: string[] = []
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: introspectionValidator({ ...options(), clientSecret: fromEnv(variable) }),
        logger: { warn: (_obj, msg) => warnings.push(msg ?? '') },
      }),
    )
    const token = secret(await auth.issue())
    try {
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(500)
      expect(warnings.join('\n')).toContain(variable)
      process.env[variable] = auth.client.secret
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
    } finally {
      delete process.env[variable]
    }
  })

  it('ready() resolves when the server accepts our client credentials', async () => {
    await expect(introspectionValidator(options()).ready?.()).resolves.toBeUndefined()
  })
})

describe('jwtValidator', () => {
  it('finds the JWKS through the issuer discovery document when only issuer is given', async () => {
    const token = secret(await auth.issue({ format: 'jwt', subject: 'dave', scopes: ['items:read'] }))
    const { status, body } = await check(
      jwtValidator({ issuer: auth.issuer, audience: auth.audience }),
      token,
    )
    expect(status).toBe(200)
    expect(body).toMatchObject({
      subject: 'dave',
      scopes: ['items:read'],
      claims: { iss: auth.issuer, aud: auth.audience },
    })
    expect(auth.requests.map((entry) => entry.path)).toEqual(['/.well-known/openid-configuration', '/jwks'])
  })

  it.each(['RS256', 'EdDSA'] as const)(
    'verifies tokens of an issuer that signs with %s',
    async (algorithm) => {
      const issuer = await startAuthService({ algorithm })
      try {
        const token = secret(await issuer.issue({ format: 'jwt' }))
        expect(
          (await check(jwtValidator({ issuer: issuer.issuer, audience: issuer.audience }), token)).status,
        ).toBe(200)
      } finally {
        await issuer.close()
      }
    },
  )

  it('accepts a token with an explicit jwksUri and checks the RFC 9068 typ', async () => {
    const token = secret(await auth.issue({ format: 'jwt' }))
    const validator = jwtValidator({
      jwksUri: auth.jwksUri,
      issuer: auth.issuer,
      audience: auth.audience,
      typ: 'at+jwt',
    })
    expect((await check(validator, token)).status).toBe(200)
  })

  it.each([
    ['expired', { expiresIn: -60 }, {}, 'token_expired'],
    ['for another audience', {}, { audience: 'another-api' }, 'token_claim_invalid'],
    ['from another issuer', {}, { issuer: 'https://issuer.example' }, 'token_claim_invalid'],
    ['without a required claim', {}, { requiredClaims: ['tenant'] }, 'token_claim_invalid'],
  ])('answers 401 for a token %s', async (_what, issue, override, reason) => {
    const token = secret(await auth.issue({ format: 'jwt', ...issue }))
    const validator = jwtValidator({
      jwksUri: auth.jwksUri,
      issuer: auth.issuer,
      audience: auth.audience,
      ...override,
    })
    const { status, event } = await check(validator, token)
    expect(status).toBe(401)
    expect(event).toMatchObject({ reason })
  })

  it('answers 401 token_signature_invalid for a token whose signature was tampered with', async () => {
    const token = secret(await auth.issue({ format: 'jwt' }))
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const middle = Math.floor(signature.length / 2)
    const flipped = signature[middle] === 'A' ? 'B' : 'A'
    const tampered = secret(
      `${header}.${payload}.${signature.slice(0, middle)}${flipped}${signature.slice(middle + 1)}`,
    )
    const { status, event } = await check(
      jwtValidator({ jwksUri: auth.jwksUri, issuer: auth.issuer, audience: auth.audience }),
      tampered,
    )
    expect(status).toBe(401)
    expect(event).toMatchObject({ reason: 'token_signature_invalid' })
  })

  it('answers 401 for a token signed by a key the issuer does not publish', async () => {
    const other = await startAuthService({ audience: auth.audience })
    try {
      const token = secret(await other.issue({ format: 'jwt' }))
      const { status, event } = await check(
        jwtValidator({ jwksUri: auth.jwksUri, issuer: other.issuer, audience: auth.audience }),
        token,
      )
      expect(status).toBe(401)
      expect(event).toMatchObject({ reason: 'token_signature_invalid' })
    } finally {
      await other.close()
    }
  })

  it('answers 401 to an HS256 token signed with the public key as secret (algorithm confusion)', async () => {
    const jwks = (await (await fetch(auth.jwksUri)).json()) as { keys: Array<Record<string, unknown>> }
    const { createPublicKey } = await import('node:crypto')
    const pem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    })
    const forged = secret(
      await new SignJWT({ scope: 'admin' })
        .setProtectedHeader({ alg: 'HS256', kid: jwks.keys[0]?.kid as string })
        .setIssuer(auth.issuer)
        .setAudience(auth.audience)
        .setSubject('mallory')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(String(pem))),
    )
    const { status } = await check(
      jwtValidator({ jwksUri: auth.jwksUri, issuer: auth.issuer, audience: auth.audience }),
      forged,
    )
    expect(status).toBe(401)
  })

  it('answers 401 to an unsigned (alg none) token', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const unsigned = secret(
      `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: auth.issuer, aud: auth.audience, sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 300 })}.`,
    )
    const { status } = await check(
      jwtValidator({ jwksUri: auth.jwksUri, issuer: auth.issuer, audience: auth.audience }),
      unsigned,
    )
    expect(status).toBe(401)
  })

  it('answers 401 token_malformed, without fetching keys, for a token that is not a JWT', async () => {
    const { status, event } = await check(
      jwtValidator({ jwksUri: auth.jwksUri, issuer: auth.issuer, audience: auth.audience }),
      secret('kwt_an-opaque-token-not-a-jwt'),
    )
    expect(status).toBe(401)
    expect(event).toMatchObject({ reason: 'token_malformed' })
    expect(auth.requests).toHaveLength(0)
  })

  it('verifies with a PEM public key and honours clockTolerance', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
    const pem = await exportSPKI(publicKey)
    const sign = (expOffset: number) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('https://issuer.test')
        .setAudience('items-api')
        .setExpirationTime(Math.floor(Date.now() / 1000) + expOffset)
        .sign(privateKey)
    const justExpired = secret(await sign(-3))
    const base = { key: pem, issuer: 'https://issuer.test', audience: 'items-api' }
    expect((await check(jwtValidator({ ...base, clockTolerance: 30 }), justExpired)).status).toBe(200)
    expect((await check(jwtValidator({ ...base, clockTolerance: 0 }), justExpired)).status).toBe(401)
  })

  it('verifies HS256 tokens with a shared secret', async () => {
    const shared = secret('a-shared-hmac-secret-of-at-least-32-bytes!')
    const token = secret(
      await new SignJWT({ scope: 'x' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('https://issuer.test')
        .setAudience('items-api')
        .setSubject('svc')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(shared)),
    )
    const { status, body } = await check(
      jwtValidator({ secret: shared, issuer: 'https://issuer.test', audience: 'items-api' }),
      token,
    )
    expect(status).toBe(200)
    expect(body).toMatchObject({ subject: 'svc', scopes: ['x'] })
  })

  it('ready() fetches the discovery document and the JWKS, and rejects with auth_unavailable while the issuer is down', async () => {
    await expect(
      jwtValidator({ issuer: auth.issuer, audience: auth.audience }).ready?.(),
    ).resolves.toBeUndefined()
    auth.fault('down')
    await expect(
      jwtValidator({ issuer: auth.issuer, audience: auth.audience }).ready?.(),
    ).rejects.toMatchObject({
      code: 'auth_unavailable',
    })
  })

  it.each([
    [{ algorithms: ['none'] }, /"none"/],
    [{ algorithms: ['HS256'] }, /asymmetric/],
    [{ secret: 'a-shared-hmac-secret-of-at-least-32-bytes!', algorithms: ['RS256'] }, /with "secret"/],
    [{ secret: 'short' }, /at least 32 bytes/],
    [
      { secret: 'a-shared-hmac-secret-of-at-least-32-bytes!', jwksUri: 'https://issuer.test/jwks' },
      /not jwksUri and secret/,
    ],
    [{ audience: undefined }, /"audience"/],
    [{ issuer: '' }, /"issuer"/],
    [{ clockTolerance: -1 }, /"clockTolerance"/],
    [{ key: 'not a pem' }, /"key" must be a public key/],
  ])('throws a TypeError for %j', (override, message) => {
    const options = { issuer: 'https://issuer.test', audience: 'items-api', ...override }
    expect(() => jwtValidator(options as never)).toThrow(TypeError)
    expect(() => jwtValidator(options as never)).toThrow(message)
  })
})

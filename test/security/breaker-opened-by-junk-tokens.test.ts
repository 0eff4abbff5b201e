import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import request from 'supertest'
import { Agent, request as undiciRequest } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, httpValidator, jwtValidator } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { decisions, protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { junkToken, listen } from './support.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.refuseWith(401)
  auth.requests.length = 0
})

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })

describe.each(expressVersions)('the circuit breaker against junk tokens, with $name', ({ express }) => {
  it.each([
    [400, 'validator_request_refused'],
    [429, 'validator_rate_limited'],
    [500, 'validator_failed'],
  ] as const)(
    'is not opened by any number of anonymous junk tokens that make the service answer %i',
    async (status, reason) => {
      auth.refuseWith(status)
      const seen = decisions()
      const guard = delegateBearerAuth({
        validator: httpValidator({ url: auth.validateUrl }),
        negativeTtl: 0,
        onDecision: seen.onDecision,
      })
      const app = protectedApp(express, guard)
      for (let i = 0; i < 20; i++) {
        const res = await request(app).get('/items').set(bearer(junkToken()))
        expect(res.status).toBe(503)
      }
      expect(seen.events.every((event) => event.reason === reason)).toBe(true)
      expect(guard.stats()).toMatchObject({ circuitOpen: 0, circuitOpens: 0 })
      const valid = secret(await auth.issue())
      await request(app).get('/items').set(bearer(valid)).expect(200)
    },
  )

  it("passes on a 429's Retry-After as whole seconds, and a hostile one as 1", async () => {
    const app = protectedApp(
      express,
      delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) }),
    )
    auth.refuseWith(429, { 'Retry-After': '30' })
    let res = await request(app).get('/items').set(bearer(junkToken()))
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('30')
    auth.refuseWith(429, { 'Retry-After': '7, <script>' })
    res = await request(app).get('/items').set(bearer(junkToken()))
    expect(res.headers['retry-after']).toBe('1')
    auth.refuseWith(429, { 'Retry-After': '999999999999' })
    res = await request(app).get('/items').set(bearer(junkToken()))
    expect(res.headers['retry-after']).toBe('86400')
  })

  it('still opens for a real outage: distinct tokens fail, among them one the service accepted before', async () => {
    const seen = decisions()
    const guard = delegateBearerAuth({
      validator: httpValidator({ url: auth.validateUrl }),
      circuitBreaker: { threshold: 3 },
      onDecision: seen.onDecision,
    })
    const app = protectedApp(express, guard)
    const known = secret(await auth.issue())
    await request(app).get('/items').set(bearer(known)).expect(200)
    guard.invalidate()
    auth.fault('error')
    await request(app).get('/items').set(bearer(junkToken())).expect(503)
    await request(app).get('/items').set(bearer(junkToken())).expect(503)
    await request(app).get('/items').set(bearer(known)).expect(503)
    await request(app).get('/items').set(bearer(junkToken())).expect(503)
    expect(seen.events.at(-1)).toMatchObject({ reason: 'circuit_open' })
    expect(guard.stats().circuitOpens).toBe(1)
  })

  it('still opens when the service cannot be connected to at all', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as AddressInfo
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const seen = decisions()
    const guard = delegateBearerAuth({
      validator: httpValidator({ url: `http://127.0.0.1:${port}/validate` }),
      circuitBreaker: { threshold: 3 },
      onDecision: seen.onDecision,
    })
    const app = protectedApp(express, guard)
    for (let i = 0; i < 3; i++) await request(app).get('/items').set(bearer(junkToken())).expect(503)
    await request(app).get('/items').set(bearer(junkToken())).expect(503)
    expect(seen.events.at(-1)).toMatchObject({ reason: 'circuit_open' })
  })
})

describe('valid users while an attacker floods junk tokens that make the service answer 500', () => {
  it('serves every valid request (reported as "valid requests served out of N")', async () => {
    auth.refuseWith(500)
    const guard = delegateBearerAuth({
      validator: httpValidator({ url: auth.validateUrl }),
      negativeTtl: 0,
    })
    const site = await listen(protectedApp(expressVersions[1].express, guard))
    const agent = new Agent({ connections: 64 })
    const get = async (token: string) => {
      const res = await undiciRequest(`${site.url}/items`, { headers: bearer(token), dispatcher: agent })
      await res.body.text()
      return res.statusCode
    }
    let flooding = true
    let attacks = 0
    const attacker = async () => {
      while (flooding) {
        await get(junkToken())
        attacks++
      }
    }
    try {
      const attackers = Array.from({ length: 16 }, attacker)
      // let the flood start before the first valid user arrives
      while (attacks < 50) await new Promise((resolve) => setImmediate(resolve))
      const N = 32
      let served = 0
      for (let i = 0; i < N; i++) {
        // a cold token each time: a user the guard has never seen, the hardest case
        const token = secret(await auth.issue())
        if ((await get(token)) === 200) served++
      }
      flooding = false
      await Promise.all(attackers)
      console.log(`valid requests served out of ${N}: ${served} (attack requests meanwhile: ${attacks})`)
      expect(served).toBe(N)
      expect(guard.stats().circuitOpens).toBe(0)
    } finally {
      flooding = false
      await agent.close()
      await site.close()
    }
  })
})

describe('jwtValidator: what a token provokes is 401 and never counts', () => {
  let p256: { publicKey: CryptoKey; privateKey: CryptoKey }
  let p384: { publicKey: CryptoKey; privateKey: CryptoKey }
  const issuer = 'https://issuer.test'
  const audience = 'items-api'
  const sign = (alg: string, key: CryptoKey, header: Record<string, unknown> = {}) =>
    new SignJWT({ scope: 'items:read', n: Math.random() })
      .setProtectedHeader({ alg, ...header })
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('1h')
      .sign(key)

  beforeAll(async () => {
    p256 = await generateKeyPair('ES256', { extractable: true })
    p384 = await generateKeyPair('ES384')
  })

  it('answers 401 invalid_token to tokens naming an algorithm the key cannot do, and the circuit stays closed', async () => {
    const seen = decisions()
    const guard = delegateBearerAuth({
      validator: jwtValidator({ key: await exportJWK(p256.publicKey), issuer, audience }),
      negativeTtl: 0,
      onDecision: seen.onDecision,
    })
    const app = protectedApp(expressVersions[1].express, guard)
    const junk = [
      secret(await sign('ES384', p384.privateKey)),
      // 29 bytes: an ES384 header, an empty payload and a junk signature
      'eyJhbGciOiJFUzM4NCJ9.e30.AAAA',
      'eyJhbGciOiJQUzI1NiJ9.e30.AAAA',
      'eyJhbGciOiJFZERTQSJ9.e30.AAAA',
      'eyJhbGciOiJSUzI1NiJ9.e30.AAAA',
      'eyJhbGciOiJFUzI1NiIsImNyaXQiOlsieCJdLCJ4IjoxfQ.e30.AAAA',
      'eyJhbGciOiJFUzI1NiJ9.bm90LWpzb24.AAAA',
      'e30.e30.AAAA',
    ]
    for (const token of junk) {
      const res = await request(app).get('/items').set(bearer(token))
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('invalid_token')
    }
    expect(seen.events.every((event) => event.outcome === 'deny')).toBe(true)
    expect(guard.stats()).toMatchObject({ circuitOpens: 0 })
    const valid = secret(await sign('ES256', p256.privateKey))
    await request(app).get('/items').set(bearer(valid)).expect(200)
  })

  it('defaults "algorithms" to what the key can do, and refuses at construction one it cannot', async () => {
    const key = await exportJWK(p256.publicKey)
    expect(() => jwtValidator({ key, issuer, audience, algorithms: ['ES256', 'ES384'] })).toThrow(
      /"algorithms" contains "ES384", which "key" cannot verify; this key can do ES256/,
    )
    expect(() => jwtValidator({ key, issuer, audience, algorithms: ['ES256'] })).not.toThrow()
  })

  it('tries every JWKS key of the alg for a token without "kid" (a rotation) instead of answering 503', async () => {
    const other = await generateKeyPair('ES256', { extractable: true })
    const jwks: JWK[] = [
      { ...(await exportJWK(other.publicKey)), alg: 'ES256', kid: 'old' },
      { ...(await exportJWK(p256.publicKey)), alg: 'ES256', kid: 'new' },
    ]
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ keys: jwks }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const guard = delegateBearerAuth({
        validator: jwtValidator({ jwksUri: `http://127.0.0.1:${port}/jwks`, issuer, audience }),
      })
      const app = protectedApp(expressVersions[1].express, guard)
      await request(app)
        .get('/items')
        .set(bearer(secret(await sign('ES256', p256.privateKey))))
        .expect(200)
      const stranger = await generateKeyPair('ES256')
      const res = await request(app)
        .get('/items')
        .set(bearer(secret(await sign('ES256', stranger.privateKey))))
      expect(res.status).toBe(401)
      expect(guard.stats().circuitOpens).toBe(0)
    } finally {
      server.close()
    }
  })
})

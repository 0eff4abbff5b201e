import { EventEmitter } from 'node:events'
import { request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, fingerprint, httpValidator, type TokenValidator } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { decisions, protectedApp } from './support.js'

// one clock for the guard and the auth service, moved by hand: no sleeps
let now = Date.now()
const clock = { now: () => now }
let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService({ now: () => now })
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.requests.length = 0
  now = Date.now()
})

const validatorCalls = () => auth.requests.filter((entry) => entry.path === '/validate').length

describe.each(expressVersions)('delegateBearerAuth caching, with $name', ({ express }) => {
  const guard = (options: Partial<Parameters<typeof delegateBearerAuth>[0]> = {}) =>
    delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), clock, ...options })
  const get = (app: Parameters<typeof request>[0], token: string) =>
    request(app).get('/items').set('Authorization', `Bearer ${token}`)

  it('reuses an accepted verdict until cacheTtl has passed', async () => {
    const seen = decisions()
    const app = protectedApp(express, guard({ cacheTtl: 60_000, onDecision: seen.onDecision }))
    const token = secret(await auth.issue({ expiresIn: 3600 }))
    await get(app, token).expect(200)
    now += 59_000
    await get(app, token).expect(200)
    expect(validatorCalls()).toBe(1)
    expect(seen.events.map((event) => event.cache)).toEqual(['miss', 'hit'])
    now += 2000
    await get(app, token).expect(200)
    expect(validatorCalls()).toBe(2)
  })

  it("never uses an accepted verdict past the token's expiry, however long cacheTtl is", async () => {
    const app = protectedApp(express, guard({ cacheTtl: 3_600_000 }))
    const token = secret(await auth.issue({ expiresIn: 30 }))
    await get(app, token).expect(200)
    now += 20_000
    await get(app, token).expect(200)
    expect(validatorCalls()).toBe(1)
    now += 11_000
    const res = await get(app, token)
    expect(res.status).toBe(401)
    expect(validatorCalls()).toBe(2)
  })

  it('reuses a refusal for negativeTtl, then asks again', async () => {
    const app = protectedApp(express, guard({ negativeTtl: 5000 }))
    const token = secret('kwt_unknown-token-for-negative-cache-test')
    await get(app, token).expect(401)
    now += 4000
    await get(app, token).expect(401)
    expect(validatorCalls()).toBe(1)
    now += 2000
    await get(app, token).expect(401)
    expect(validatorCalls()).toBe(2)
  })

  it('keys the cache by token: another token is validated on its own', async () => {
    const app = protectedApp(express, guard())
    const first = secret(await auth.issue({ subject: 'first' }))
    const second = secret(await auth.issue({ subject: 'second' }))
    expect((await get(app, first)).body.subject).toBe('first')
    expect((await get(app, second)).body.subject).toBe('second')
    expect((await get(app, first)).body.subject).toBe('first')
    expect(validatorCalls()).toBe(2)
  })

  it('makes one validator call for 50 concurrent requests with one token', async () => {
    const bearer = guard({ cacheTtl: 0 })
    const server: Server = protectedApp(express, bearer).listen(0, '127.0.0.1')
    try {
      const token = secret(await auth.issue())
      // slow, so all 50 arrive while the first validation is in flight
      auth.fault('slow', { delay: 300 })
      const answers = await Promise.all(Array.from({ length: 50 }, () => get(server, token)))
      expect(answers.map((res) => res.status)).toEqual(Array(50).fill(200))
      expect(validatorCalls()).toBe(1)
      expect(bearer.stats()).toMatchObject({ validations: 1, coalesced: 49 })
    } finally {
      server.close()
    }
  })

  it('aborts the validation through its signal when every waiting client has gone away', async () => {
    let reason: unknown
    let called = false
    const validator: TokenValidator = (_token, { signal }) =>
      new Promise((_resolve, reject) => {
        called = true
        signal.addEventListener('abort', () => {
          reason = signal.reason
          reject(signal.reason)
        })
      })
    const server: Server = protectedApp(express, delegateBearerAuth({ validator, timeout: 60_000 })).listen(
      0,
      '127.0.0.1',
    )
    try {
      if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
      const { port } = server.address() as AddressInfo
      const token = secret('opaque-token-of-a-client-that-hangs-up')
      const client = httpRequest({
        port,
        host: '127.0.0.1',
        path: '/items',
        headers: { authorization: `Bearer ${token}` },
      })
      client.on('error', () => {})
      client.end()
      while (!called) await new Promise((resolve) => setImmediate(resolve))
      client.destroy()
      while (reason === undefined) await new Promise((resolve) => setImmediate(resolve))
      expect((reason as Error).name).toBe('ClientsGone')
    } finally {
      server.close()
    }
  })

  it('drops one token with invalidate(fingerprint) and keeps the others', async () => {
    const bearer = guard()
    const app = protectedApp(express, bearer)
    const revoked = secret(await auth.issue())
    const kept = secret(await auth.issue())
    await get(app, revoked).expect(200)
    await get(app, kept).expect(200)
    auth.revoke(revoked)
    bearer.invalidate(fingerprint(revoked))
    await get(app, revoked).expect(401)
    await get(app, kept).expect(200)
    expect(validatorCalls()).toBe(3)
  })

  it('does not cache a verdict whose validation was in flight when the token was invalidated', async () => {
    let calls = 0
    const pending: Array<() => void> = []
    const validator: TokenValidator = () => {
      calls++
      return new Promise((resolve) => {
        pending.push(() => resolve({ active: true, subject: 'late' }))
      })
    }
    const answer = async () => {
      while (pending.length === 0) await new Promise((resolve) => setImmediate(resolve))
      pending.shift()?.()
    }
    const bearer = delegateBearerAuth({ validator, clock })
    const server: Server = protectedApp(express, bearer).listen(0, '127.0.0.1')
    try {
      const token = secret('opaque-token-revoked-while-being-checked')
      const first = get(server, token).then((res) => res.status)
      while (pending.length === 0) await new Promise((resolve) => setImmediate(resolve))
      bearer.invalidate(fingerprint(token))
      await answer()
      expect(await first).toBe(200)
      const second = get(server, token).then((res) => res.status)
      await answer()
      expect(await second).toBe(200)
      expect(calls).toBe(2)
    } finally {
      server.close()
    }
  })

  it('drops every token with invalidate()', async () => {
    const bearer = guard()
    const app = protectedApp(express, bearer)
    const token = secret(await auth.issue())
    await get(app, token).expect(200)
    bearer.invalidate()
    await get(app, token).expect(200)
    expect(validatorCalls()).toBe(2)
  })

  it('drops a revoked token on every instance when its fingerprint is published on the invalidation bus', async () => {
    const bus = new EventEmitter()
    const invalidation = {
      subscribe(listener: (id?: string) => void) {
        bus.on('invalidate', listener)
        return () => bus.off('invalidate', listener)
      },
    }
    const instances = [
      protectedApp(express, guard({ invalidation })),
      protectedApp(express, guard({ invalidation })),
    ]
    const token = secret(await auth.issue())
    for (const app of instances) await get(app, token).expect(200)
    auth.revoke(token)
    for (const app of instances) await get(app, token).expect(200)
    bus.emit('invalidate', fingerprint(token))
    for (const app of instances) await get(app, token).expect(401)
  })

  it('drops everything when the invalidation bus sends no id', async () => {
    const bus = new EventEmitter()
    const invalidation = {
      subscribe(listener: (id?: string) => void) {
        bus.on('invalidate', listener)
        return () => bus.off('invalidate', listener)
      },
    }
    const app = protectedApp(express, guard({ invalidation }))
    const token = secret(await auth.issue())
    await get(app, token).expect(200)
    auth.revoke(token)
    bus.emit('invalidate')
    await get(app, token).expect(401)
  })

  it('counts hits, misses and validations in stats()', async () => {
    const bearer = guard()
    const app = protectedApp(express, bearer)
    const token = secret(await auth.issue())
    await get(app, token).expect(200)
    await get(app, token).expect(200)
    await get(app, token).expect(200)
    expect(bearer.stats()).toMatchObject({ hits: 2, misses: 1, validations: 1, failures: 0, size: 1 })
  })

  it('serves the last verdict with staleIfError while the service is down, and 503 once the window has passed', async () => {
    const seen = decisions()
    const bearer = guard({
      cacheTtl: 1000,
      staleIfError: 60_000,
      circuitBreaker: false,
      onDecision: seen.onDecision,
    })
    const app = protectedApp(express, bearer)
    const token = secret(await auth.issue({ subject: 'stale', expiresIn: 3600 }))
    await get(app, token).expect(200)
    now += 2000
    auth.fault('down')
    const stale = await get(app, token)
    expect(stale.status).toBe(200)
    expect(stale.body.subject).toBe('stale')
    expect(seen.events[1]).toMatchObject({ outcome: 'allow', reason: 'stale_if_error', cache: 'stale' })
    expect(bearer.stats().stale).toBe(1)
    now += 60_000
    await get(app, token).expect(503)
  })

  it('revalidates a stale verdict when the service answers, instead of serving it', async () => {
    const seen = decisions()
    const app = protectedApp(
      express,
      guard({ cacheTtl: 1000, staleIfError: 60_000, onDecision: seen.onDecision }),
    )
    const token = secret(await auth.issue())
    await get(app, token).expect(200)
    auth.revoke(token)
    now += 2000
    await get(app, token).expect(401)
    expect(seen.events[1]).toMatchObject({ outcome: 'deny', cache: 'refresh' })
  })

  it("never serves a stale verdict past the token's expiry", async () => {
    const app = protectedApp(
      express,
      guard({ cacheTtl: 1000, staleIfError: 3_600_000, circuitBreaker: false }),
    )
    const token = secret(await auth.issue({ expiresIn: 10 }))
    await get(app, token).expect(200)
    auth.fault('down')
    now += 5000
    await get(app, token).expect(200)
    now += 6000
    await get(app, token).expect(503)
  })

  it('answers 503 without staleIfError when the service is down, even with a just-expired verdict', async () => {
    const app = protectedApp(express, guard({ cacheTtl: 1000, circuitBreaker: false }))
    const token = secret(await auth.issue())
    await get(app, token).expect(200)
    now += 2000
    auth.fault('down')
    await get(app, token).expect(503)
  })
})

describe.each(expressVersions)('delegateBearerAuth circuit breaker, with $name', ({ express }) => {
  const breakerGuard = (options: Partial<Parameters<typeof delegateBearerAuth>[0]> = {}) =>
    delegateBearerAuth({
      validator: httpValidator({ url: auth.validateUrl }),
      clock,
      circuitBreaker: { threshold: 3, cooldown: 10_000 },
      ...options,
    })
  const get = (app: Parameters<typeof request>[0], token: string) =>
    request(app).get('/items').set('Authorization', `Bearer ${token}`)

  // an outage as the breaker recognises one: the service fails for distinct tokens, one of
  // them a token it accepted before (which no attacker can craft)
  const breakDown = async (app: Parameters<typeof request>[0], bearer: ReturnType<typeof breakerGuard>) => {
    const known = secret(await auth.issue())
    await get(app, known).expect(200)
    bearer.invalidate(fingerprint(known))
    auth.fault('error')
    const others = [secret(await auth.issue()), secret(await auth.issue())]
    for (const token of others) await get(app, token).expect(503)
    await get(app, known).expect(503)
    return known
  }

  it('opens once threshold distinct tokens met a failure of the service, and then answers 503 circuit_open at once, without calling the service', async () => {
    const seen = decisions()
    const bearer = breakerGuard({ onDecision: seen.onDecision })
    const app = protectedApp(express, bearer)
    await breakDown(app, bearer)
    expect(validatorCalls()).toBe(4)
    const token = secret(await auth.issue())
    const res = await get(app, token)
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('10')
    expect(seen.events.at(-1)).toMatchObject({ outcome: 'error', reason: 'circuit_open' })
    expect(validatorCalls()).toBe(4)
    expect(bearer.stats()).toMatchObject({ circuitOpen: 1, circuitOpens: 1 })
  })

  it('counts one token failing again and again once', async () => {
    const bearer = breakerGuard()
    const app = protectedApp(express, bearer)
    const known = secret(await auth.issue())
    await get(app, known).expect(200)
    auth.fault('error')
    now += 60_001
    for (let i = 0; i < 5; i++) await get(app, known).expect(503)
    expect(validatorCalls()).toBe(6)
    expect(bearer.stats().circuitOpens).toBe(0)
  })

  it('stays open for cooldown even when the service is back, then closes after one successful probe', async () => {
    const bearer = breakerGuard()
    const app = protectedApp(express, bearer)
    const token = await breakDown(app, bearer)
    auth.fault(undefined)
    now += 9000
    await get(app, token).expect(503)
    expect(validatorCalls()).toBe(4)
    now += 1001
    await get(app, token).expect(200)
    expect(validatorCalls()).toBe(5)
    expect(bearer.stats().circuitOpen).toBe(0)
    const other = secret(await auth.issue())
    await get(app, other).expect(200)
  })

  it('opens again when the probe fails', async () => {
    const seen = decisions()
    const bearer = breakerGuard({ onDecision: seen.onDecision })
    const app = protectedApp(express, bearer)
    const token = await breakDown(app, bearer)
    now += 10_001
    await get(app, token).expect(503)
    expect(validatorCalls()).toBe(5)
    expect(seen.events.at(-1)).toMatchObject({ reason: 'validator_failed' })
    await get(app, token).expect(503)
    expect(seen.events.at(-1)).toMatchObject({ reason: 'circuit_open' })
    expect(validatorCalls()).toBe(5)
  })

  it('lets exactly one probe through while half-open', async () => {
    const seen = decisions()
    const bearer = breakerGuard({ onDecision: seen.onDecision })
    const server: Server = protectedApp(express, bearer).listen(0, '127.0.0.1')
    try {
      await breakDown(server, bearer)
      const tokens = [secret(await auth.issue()), secret(await auth.issue()), secret(await auth.issue())]
      now += 10_001
      auth.fault('slow', { delay: 300 })
      const answers = await Promise.all(tokens.map((token) => get(server, token)))
      expect(answers.map((res) => res.status).sort()).toEqual([200, 503, 503])
      expect(validatorCalls()).toBe(5)
    } finally {
      server.close()
    }
  })

  it('is not opened by refusals: a run of bad tokens is the service working', async () => {
    const app = protectedApp(express, breakerGuard({ negativeTtl: 0 }))
    const bad = secret('kwt_a-token-nobody-ever-issued-here')
    for (let i = 0; i < 5; i++) await get(app, bad).expect(401)
    const token = secret(await auth.issue())
    await get(app, token).expect(200)
  })

  it('serves a stale verdict instead of circuit_open when staleIfError allows it', async () => {
    const seen = decisions()
    const bearer = breakerGuard({ cacheTtl: 1000, staleIfError: 60_000, onDecision: seen.onDecision })
    const app = protectedApp(express, bearer)
    const cached = secret(await auth.issue())
    await get(app, cached).expect(200)
    now += 2000
    await breakDown(app, bearer)
    await get(app, cached).expect(200)
    expect(seen.events.at(-1)).toMatchObject({ reason: 'stale_if_error', cache: 'stale' })
  })
})

describe('delegateBearerAuth ready()', () => {
  it('resolves when the validator is reachable and rejects with auth_unavailable while it is down', async () => {
    const bearer = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
    await expect(bearer.ready()).resolves.toBeUndefined()
    auth.fault('down')
    // a fresh guard: the first one answers from its answer of a moment ago (the 1 s floor)
    const other = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
    await expect(other.ready()).rejects.toMatchObject({ code: 'auth_unavailable' })
  })

  it('resolves for a validator without ready()', async () => {
    const validator: TokenValidator = async () => ({ active: false })
    await expect(delegateBearerAuth({ validator }).ready()).resolves.toBeUndefined()
  })
})

import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type AuthenticateResult,
  delegateBearerAuth,
  fingerprint,
  type Guard,
  httpValidator,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { type AuthService, memoryRecordStore, startAuthService } from '../../src/testing/index.js'
import { decisions, protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { newKey } from '../security/widget-support.js'

const WORKER_KEY = secret('wk_auth_4f9c1e0b8a7d6c5b4a3f2e1d0c9b8a7f')

let auth: AuthService
beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.requests.length = 0
})

const validations = () => auth.requests.filter((entry) => entry.path === '/validate').length

/**
 * A plain `node:http` server whose `upgrade` requests are authenticated by `guard`: 101 when
 * accepted, the refusal's status otherwise. Each result is kept, with the request it was for.
 */
async function upgradeServer(guard: Pick<Guard, 'authenticate'>) {
  const results: Array<{ result: AuthenticateResult; req: IncomingMessage }> = []
  const server: Server = createServer((_req, res) => res.writeHead(426).end())
  server.on('upgrade', async (req: IncomingMessage, socket) => {
    const result = await guard.authenticate(req)
    results.push({ result, req })
    socket.end(
      result.ok
        ? 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n'
        : `HTTP/1.1 ${result.error.status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const upgrade = (headers: Record<string, string | string[]>) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/socket',
        agent: false,
        headers: { Connection: 'Upgrade', Upgrade: 'test', ...headers },
      })
      req.on('upgrade', (res, socket) => {
        socket.destroy()
        resolve(res.statusCode ?? 0)
      })
      req.on('response', (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
  return {
    results,
    upgrade,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe('authenticate() on a WebSocket-style upgrade request', () => {
  it('accepts the worker key of an upgrade request and sets nothing on the request', async () => {
    const seen = decisions()
    const guard = requireWorkerKey({ keys: [{ id: 'jobs', key: WORKER_KEY }], onDecision: seen.onDecision })
    const server = await upgradeServer(guard)
    try {
      expect(await server.upgrade({ 'X-Worker-Key': WORKER_KEY })).toBe(101)
      expect(await server.upgrade({})).toBe(401)
      expect(await server.upgrade({ 'X-Worker-Key': [WORKER_KEY, WORKER_KEY] })).toBe(401)
      expect(server.results[0]!.result).toEqual({ ok: true, auth: { kind: 'worker', keyId: 'jobs' } })
      expect((server.results[0]!.req as { auth?: unknown }).auth).toBeUndefined()
      const reasons = server.results.map(({ result }) => (result.ok ? 'ok' : result.error.reason))
      expect(reasons).toEqual(['ok', 'no_header', 'header_repeated'])
      expect(seen.events.map((event) => [event.middleware, event.outcome, event.reason])).toEqual([
        ['requireWorkerKey', 'allow', 'key_match'],
        ['requireWorkerKey', 'deny', 'no_header'],
        ['requireWorkerKey', 'deny', 'header_repeated'],
      ])
    } finally {
      await server.close()
    }
  })

  it('accepts a widget key and tenant of an upgrade request', async () => {
    const { key, record } = await newKey()
    const guard = verifyWidgetKey({ records: memoryRecordStore({ initial: { acme: record } }).records })
    const server = await upgradeServer(guard)
    try {
      expect(await server.upgrade({ 'X-Tenant-Id': 'acme', 'X-Widget-Key': key })).toBe(101)
      expect(await server.upgrade({ 'X-Tenant-Id': 'other', 'X-Widget-Key': key })).toBe(401)
      expect(server.results[0]!.result).toMatchObject({
        ok: true,
        auth: { kind: 'widget', tenantId: 'acme' },
      })
    } finally {
      await server.close()
    }
  })

  it("sends the upgrade socket's address as client_ip and refuses a revoked token", async () => {
    const guard = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
    const server = await upgradeServer(guard)
    try {
      const token = secret(await auth.issue({ clientIps: ['127.0.0.1'], subject: 'ada' }))
      expect(await server.upgrade({ Authorization: `Bearer ${token}` })).toBe(101)
      expect(server.results[0]!.result).toMatchObject({ ok: true, auth: { kind: 'bearer', subject: 'ada' } })
      const revoked = secret(await auth.issue())
      auth.revoke(revoked)
      expect(await server.upgrade({ Authorization: `Bearer ${revoked}` })).toBe(401)
      expect(await server.upgrade({ Authorization: 'Bearer' })).toBe(400)
    } finally {
      await server.close()
    }
  })
})

describe('authenticate() on a plain request object', () => {
  it('reads header names in any case and refuses a repeated header given as an array or as two spellings', async () => {
    const guard = requireWorkerKey({ keys: WORKER_KEY })
    const ok = await guard.authenticate({ method: 'GET', headers: { 'X-WORKER-KEY': WORKER_KEY } })
    expect(ok).toEqual({ ok: true, auth: { kind: 'worker', keyId: fingerprint(WORKER_KEY) } })
    const refusals = await Promise.all([
      guard.authenticate({ method: 'GET', headers: { 'x-worker-key': [WORKER_KEY, WORKER_KEY] } }),
      guard.authenticate({
        method: 'GET',
        headers: { 'X-Worker-Key': WORKER_KEY, 'x-worker-key': WORKER_KEY },
      }),
      guard.authenticate({ method: 'GET', headers: {} }),
      guard.authenticate({ method: 'GET', headers: { 'x-worker-key': [] } }),
      guard.authenticate({ method: 'GET', headers: { 'x-worker-key': 'nope' } }),
    ])
    expect(
      refusals.map((result) => (result.ok ? 'ok' : `${result.error.status} ${result.error.reason}`)),
    ).toEqual([
      '401 header_repeated',
      '401 header_repeated',
      '401 no_header',
      '401 no_header',
      '401 key_mismatch',
    ])
  })

  it('decides on the key of an unkeyed preflight-shaped request rather than answering it', async () => {
    const { record } = await newKey()
    const guard = verifyWidgetKey({ records: memoryRecordStore({ initial: { acme: record } }).records })
    const result = await guard.authenticate({
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'GET',
        'x-tenant-id': 'acme',
      },
    })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.error.code).toBe('missing_credentials')
  })

  it('gives a custom tenant() the plain request as it was passed', async () => {
    const { key, record } = await newKey()
    const seen: unknown[] = []
    const guard = verifyWidgetKey({
      records: memoryRecordStore({ initial: { 'live:acme': record } }).records,
      tenant: (req) => {
        seen.push(req)
        return `live:${String(req.headers['x-tenant-id'])}`
      },
    })
    const plain = { method: 'GET', headers: { 'x-tenant-id': 'acme', 'x-widget-key': key } }
    expect(await guard.authenticate(plain)).toMatchObject({ ok: true, auth: { tenantId: 'live:acme' } })
    expect(seen[0]).toBe(plain)
  })

  it("sends the plain request's ip as client_ip, and keys the cached verdict by it", async () => {
    const guard = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
    const token = secret(await auth.issue({ clientIps: ['10.0.0.7'] }))
    const from = (ip: string) =>
      guard.authenticate({ method: 'GET', headers: { authorization: `Bearer ${token}` }, ip })
    expect((await from('10.0.0.7')).ok).toBe(true)
    expect((await from('10.0.0.8')).ok).toBe(false)
    expect((await from('10.0.0.7')).ok).toBe(true)
    expect(validations()).toBe(2)
  })

  it('resolves { ok: true, auth: undefined } without a bearer credential when credentials are optional', async () => {
    const guard = delegateBearerAuth({
      validator: httpValidator({ url: auth.validateUrl }),
      credentialsRequired: false,
    })
    expect(await guard.authenticate({ method: 'GET', headers: {} })).toEqual({ ok: true, auth: undefined })
    expect(await guard.authenticate({ method: 'GET', headers: { authorization: 'Basic YTpi' } })).toEqual({
      ok: true,
      auth: undefined,
    })
    const refused = await guard.authenticate({ method: 'GET', headers: { authorization: 'Bearer a b' } })
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.error.status).toBe(400)
  })

  it('resolves, never rejects, when the validator throws or the request is not an object', async () => {
    const guard = delegateBearerAuth({
      validator: async () => {
        throw new Error('boom')
      },
    })
    const thrown = await guard.authenticate({ method: 'GET', headers: { authorization: 'Bearer abc' } })
    expect(thrown.ok ? 'ok' : thrown.error.code).toBe('auth_unavailable')
    const nothing = await guard.authenticate(undefined as never)
    expect(nothing.ok ? 'ok' : [nothing.error.status, nothing.error.reason]).toEqual([503, 'internal_error'])
  })
})

describe.each(expressVersions)(
  'authenticate() shares caches and events with the middleware ($name)',
  ({ express }) => {
    it('answers a token the middleware validated from the cache, with one event each', async () => {
      const seen = decisions()
      const guard = delegateBearerAuth({
        validator: httpValidator({ url: auth.validateUrl }),
        cacheBy: 'token',
        onDecision: seen.onDecision,
      })
      const token = secret(await auth.issue({ subject: 'ada' }))
      await request(protectedApp(express, guard))
        .get('/items')
        .set('Authorization', `Bearer ${token}`)
        .expect(200)
      const result = await guard.authenticate({
        method: 'GET',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(result).toMatchObject({ ok: true, auth: { kind: 'bearer', subject: 'ada' } })
      expect(validations()).toBe(1)
      expect(seen.events.map((event) => [event.middleware, event.outcome, event.cache])).toEqual([
        ['delegateBearerAuth', 'allow', 'miss'],
        ['delegateBearerAuth', 'allow', 'hit'],
      ])
      expect(guard.stats()).toMatchObject({ hits: 1, misses: 1 })
    })

    it('answers a widget key the middleware verified from the cache', async () => {
      const { key, record } = await newKey()
      const store = memoryRecordStore({ initial: { acme: record } })
      const seen = decisions()
      const guard = verifyWidgetKey({ records: store.records, onDecision: seen.onDecision })
      const app = express()
      app.get('/widget', guard, (req, res) => {
        res.json(req.auth)
      })
      await request(app).get('/widget').set('X-Tenant-Id', 'acme').set('X-Widget-Key', key).expect(200)
      const result = await guard.authenticate({
        method: 'GET',
        headers: { 'x-tenant-id': 'acme', 'x-widget-key': key },
      })
      expect(result.ok).toBe(true)
      expect(seen.events.map((event) => event.cache)).toEqual(['miss', 'hit'])
    })

    it('drops the cached verdict for both on invalidate()', async () => {
      const guard = delegateBearerAuth({
        validator: httpValidator({ url: auth.validateUrl }),
        cacheBy: 'token',
      })
      const token = secret(await auth.issue())
      const plain = { method: 'GET', headers: { authorization: `Bearer ${token}` } }
      await guard.authenticate(plain)
      await request(protectedApp(express, guard))
        .get('/items')
        .set('Authorization', `Bearer ${token}`)
        .expect(200)
      expect(validations()).toBe(1)
      auth.revoke(token)
      guard.invalidate(fingerprint(token))
      expect((await guard.authenticate(plain)).ok).toBe(false)
      await request(protectedApp(express, guard))
        .get('/items')
        .set('Authorization', `Bearer ${token}`)
        .expect(401)
    })
  },
)

import diagnostics from 'node:diagnostics_channel'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  anyOf,
  DECISION_CHANNEL,
  type DecisionEvent,
  delegateBearerAuth,
  fingerprint,
  httpValidator,
  KeywardError,
  keywardErrorHandler,
  requireScopes,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { type AuthService, memoryRecordStore, startAuthService } from '../../src/testing/index.js'
import { decisions } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { newKey } from '../security/widget-support.js'

const WORKER_KEY = secret('wk_anyof_4f9c1e0b8a7d6c5b4a3f2e1d0c9b8a7f')

let auth: AuthService
beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.requests.length = 0
})

const validations = () => auth.requests.filter((entry) => entry.path === '/validate').length

function guards(options: { worker?: object; bearer?: object } = {}) {
  const worker = requireWorkerKey({ keys: [{ id: 'jobs', key: WORKER_KEY }], ...options.worker })
  const bearer = delegateBearerAuth({
    validator: httpValidator({ url: auth.validateUrl }),
    ...options.bearer,
  })
  return { worker, bearer }
}

describe.each(expressVersions)('anyOf ($name)', ({ express }) => {
  function internalApp(guard: ReturnType<typeof anyOf>) {
    const app = express()
    app.get('/internal/report', guard, (req, res) => {
      res.json(req.auth ?? { anonymous: true })
    })
    app.use(keywardErrorHandler())
    return app
  }

  it('accepts a service with the worker key and sets req.auth from the worker guard', async () => {
    const { worker, bearer } = guards()
    const res = await request(internalApp(anyOf(worker, bearer)))
      .get('/internal/report')
      .set('X-Worker-Key', WORKER_KEY)
      .expect(200)
    expect(res.body).toEqual({ kind: 'worker', keyId: 'jobs' })
    expect(validations()).toBe(0)
  })

  it('accepts a user with a bearer token and sets req.auth from the bearer guard', async () => {
    const { worker, bearer } = guards()
    const token = secret(await auth.issue({ subject: 'ada', scopes: ['reports:read'] }))
    const res = await request(internalApp(anyOf(worker, bearer)))
      .get('/internal/report')
      .set('Authorization', `Bearer ${token}`)
      .expect(200)
    expect(res.body).toMatchObject({ kind: 'bearer', subject: 'ada', scopes: ['reports:read'] })
  })

  it('answers 401 missing_credentials with the bearer challenge when no credential is present', async () => {
    const { worker, bearer } = guards()
    const seen = decisions()
    const app = internalApp(anyOf({ onDecision: seen.onDecision }, worker, bearer))
    for (const extra of [{}, { Authorization: 'Basic YWRtaW46cGFzcw==' }]) {
      const res = await request(app).get('/internal/report').set(extra).expect(401)
      expect(res.body.code).toBe('missing_credentials')
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
    }
    expect(seen.events).toHaveLength(2)
    expect(seen.events[0]).toMatchObject({
      middleware: 'anyOf',
      outcome: 'deny',
      reason: 'no_credentials',
      detail: { via: 'anyOf', guards: 'requireWorkerKey,delegateBearerAuth' },
    })
  })

  it("merges two bearer guards' challenges into one WWW-Authenticate value", async () => {
    const validator = httpValidator({ url: auth.validateUrl })
    const app = internalApp(
      anyOf(
        delegateBearerAuth({ validator, realm: 'staff' }),
        delegateBearerAuth({ validator, realm: 'partners' }),
      ),
    )
    const res = await request(app).get('/internal/report').expect(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="staff", Bearer realm="partners"')
  })

  it('lets the guard whose credential is present decide, even a malformed one: no fall-through', async () => {
    const { worker, bearer } = guards()
    const token = secret(await auth.issue())
    const app = internalApp(anyOf(worker, bearer))
    // a worker key header with a bad value is the worker guard's to refuse, whatever else is sent
    const malformed = await request(app)
      .get('/internal/report')
      .set('X-Worker-Key', 'one,two')
      .set('Authorization', `Bearer ${token}`)
      .expect(401)
    expect(malformed.body.code).toBe('invalid_request')
    const wrong = await request(app)
      .get('/internal/report')
      .set('X-Worker-Key', 'not-the-key')
      .set('Authorization', `Bearer ${token}`)
      .expect(401)
    expect(wrong.body.code).toBe('invalid_credentials')
    expect(validations()).toBe(0)
    // a malformed bearer header is present too: 400 from the bearer guard, not "missing"
    const res = await request(app).get('/internal/report').set('Authorization', 'Bearer').expect(400)
    expect(res.body.code).toBe('invalid_request')
  })

  it('publishes exactly one decision event per request, named after the guard that decided', async () => {
    const workerSeen = decisions()
    const bearerSeen = decisions()
    const composedSeen = decisions()
    const channelSeen: DecisionEvent[] = []
    const listener = (event: unknown) => channelSeen.push(event as DecisionEvent)
    diagnostics.subscribe(DECISION_CHANNEL, listener)
    try {
      const { worker, bearer } = guards({
        worker: { onDecision: workerSeen.onDecision },
        bearer: { onDecision: bearerSeen.onDecision },
      })
      const app = internalApp(anyOf({ onDecision: composedSeen.onDecision }, worker, bearer))
      const token = secret(await auth.issue())
      await request(app).get('/internal/report').set('Authorization', `Bearer ${token}`).expect(200)
      await request(app).get('/internal/report').set('X-Worker-Key', WORKER_KEY).expect(200)
      expect(channelSeen.map((event) => [event.middleware, event.detail?.via])).toEqual([
        ['delegateBearerAuth', 'anyOf'],
        ['requireWorkerKey', 'anyOf'],
      ])
      expect(composedSeen.events.map((event) => event.middleware)).toEqual([
        'delegateBearerAuth',
        'requireWorkerKey',
      ])
      expect(bearerSeen.events).toHaveLength(1)
      expect(workerSeen.events).toHaveLength(1)
      expect(bearerSeen.events[0]).toMatchObject({ keyFingerprint: fingerprint(token), outcome: 'allow' })
    } finally {
      diagnostics.unsubscribe(DECISION_CHANNEL, listener)
    }
  })

  it('hands refusals to the error handler with onError: next', async () => {
    const { worker, bearer } = guards()
    const app = express()
    app.get('/internal/report', anyOf({ onError: 'next' }, worker, bearer), (_req, res) => {
      res.json({ reached: true })
    })
    app.use(
      (
        error: unknown,
        _req: unknown,
        res: { status(n: number): { json(b: unknown): void } },
        _next: unknown,
      ) => {
        res.status(418).json({ keyward: KeywardError.is(error) ? error.code : null })
      },
    )
    const res = await request(app).get('/internal/report').expect(418)
    expect(res.body).toEqual({ keyward: 'missing_credentials' })
  })

  it('answers a real CORS preflight as its widget guard does, so it never reaches the handler', async () => {
    const { key, record } = await newKey()
    const widget = verifyWidgetKey({
      records: memoryRecordStore({ initial: { acme: record } }).records,
      origins: ['https://shop.example'],
    })
    const { bearer } = guards()
    let reached = 0
    const app = express()
    app.options('/widget/config', anyOf(widget, bearer), (_req, res) => {
      reached++
      res.json({ reached: true })
    })
    app.get('/widget/config', anyOf(widget, bearer), (req, res) => {
      res.json(req.auth)
    })
    const preflight = await request(app)
      .options('/widget/config')
      .set('Origin', 'https://shop.example')
      .set('Access-Control-Request-Method', 'GET')
      .expect(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('https://shop.example')
    expect(preflight.headers['access-control-allow-headers']).toBe('x-widget-key, x-tenant-id')
    // an OPTIONS that is not a real preflight needs a credential like any request
    await request(app).options('/widget/config').expect(401)
    expect(reached).toBe(0)
    const res = await request(app)
      .get('/widget/config')
      .set('Origin', 'https://shop.example')
      .set('X-Tenant-Id', 'acme')
      .set('X-Widget-Key', key)
      .expect(200)
    expect(res.body).toMatchObject({ kind: 'widget', tenantId: 'acme' })
  })

  it('answers 503 from the guard that decided when its service is down, never another guard', async () => {
    const { worker, bearer } = guards()
    auth.fault('down')
    const token = secret(await auth.issue())
    const res = await request(internalApp(anyOf(worker, bearer)))
      .get('/internal/report')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Worker-Key', WORKER_KEY)
      .expect(200)
    // the worker guard comes first and its key is present: it decides
    expect(res.body.kind).toBe('worker')
    const down = await request(internalApp(anyOf(bearer, worker)))
      .get('/internal/report')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Worker-Key', WORKER_KEY)
      .expect(503)
    expect(down.headers['retry-after']).toBeDefined()
  })

  it('works with requireScopes after it', async () => {
    const { worker, bearer } = guards()
    const app = express()
    app.get('/internal/admin', anyOf(worker, bearer), requireScopes('admin'), (_req, res) => {
      res.json({ ok: true })
    })
    const admin = secret(await auth.issue({ scopes: ['admin'] }))
    await request(app).get('/internal/admin').set('Authorization', `Bearer ${admin}`).expect(200)
    await request(app).get('/internal/admin').set('X-Worker-Key', WORKER_KEY).expect(403)
  })
})

describe('anyOf controls', () => {
  it('is ready when every guard is ready, and rejects with the failure of one that is not', async () => {
    const { worker, bearer } = guards()
    await expect(anyOf(worker, bearer).ready()).resolves.toBeUndefined()
    const unset = requireWorkerKey({ keys: () => undefined })
    await expect(anyOf(bearer, unset).ready()).rejects.toMatchObject({
      code: 'server_misconfigured',
      reason: 'expected_key_empty',
    })
  })

  it('forwards invalidate(id) to every guard', async () => {
    const { worker, bearer } = guards()
    const token = secret(await auth.issue())
    const composed = anyOf(worker, bearer)
    const presented = { method: 'GET', headers: { authorization: `Bearer ${token}` } }
    await composed.authenticate(presented)
    await composed.authenticate(presented)
    expect(validations()).toBe(1)
    composed.invalidate(fingerprint(token))
    await composed.authenticate(presented)
    expect(validations()).toBe(2)
  })

  it("returns each guard's stats in the order the guards were given", async () => {
    const { worker, bearer } = guards()
    const composed = anyOf(worker, bearer)
    await composed.authenticate({ method: 'GET', headers: { 'x-worker-key': WORKER_KEY } })
    const stats = composed.stats()
    expect(stats).toHaveLength(2)
    expect(stats[0]).toEqual(worker.stats())
    expect(stats[1]).toEqual(bearer.stats())
    expect(stats[0]!.misses).toBe(1)
  })

  it('authenticate() resolves with the deciding guard and publishes one event', async () => {
    const seen = decisions()
    const { worker, bearer } = guards()
    const composed = anyOf({ onDecision: seen.onDecision }, worker, bearer)
    const ok = await composed.authenticate({ method: 'GET', headers: { 'X-Worker-Key': WORKER_KEY } })
    expect(ok).toEqual({ ok: true, auth: { kind: 'worker', keyId: 'jobs' } })
    const none = await composed.authenticate({ method: 'GET', headers: {} })
    expect(none.ok).toBe(false)
    if (!none.ok) {
      expect(none.error.code).toBe('missing_credentials')
      expect(none.error.headers['WWW-Authenticate']).toBe('Bearer realm="api"')
    }
    expect(seen.events.map((event) => event.middleware)).toEqual(['requireWorkerKey', 'anyOf'])
  })

  it('refuses at construction an empty list, a non-guard, a nested anyOf and unknown options, naming the argument', () => {
    const { worker, bearer } = guards()
    expect(() => anyOf()).toThrow(/anyOf: pass the guards to choose from/)
    expect(() =>
      anyOf(worker, ((_req: unknown, _res: unknown, next: () => void) => next()) as never),
    ).toThrow(/anyOf: argument 2 is not a keyward guard \(got function\)/)
    expect(() => anyOf({ onDecision: () => {} }, worker, 'x-worker-key' as never)).toThrow(
      /anyOf: argument 3 is not a keyward guard \(got string\)/,
    )
    expect(() => anyOf(worker, anyOf(bearer) as never)).toThrow(/argument 2 is an anyOf itself/)
    expect(() => anyOf(worker, requireScopes('admin'))).toThrow(
      /argument 2 \(requireScopes\) has no credential of its own/,
    )
    expect(() => anyOf(worker, guards({ bearer: { credentialsRequired: false } }).bearer)).toThrow(
      /argument 2 \(delegateBearerAuth\) has credentialsRequired: false/,
    )
    expect(() => anyOf({ bypass: true } as never, worker)).toThrow(/anyOf: there is no "bypass" option/)
    expect(() => anyOf({ onDecison: () => {} } as never, worker)).toThrow(/did you mean "onDecision"\?/)
    expect(() => anyOf({ onError: 'ignore' } as never, worker)).toThrow(/anyOf: "onError" must be/)
    expect(() => anyOf({}, worker)).not.toThrow()
  })
})

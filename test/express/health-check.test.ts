import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { type HealthCheckBody, healthCheck, type Readiness } from '../../src/express/health-check.js'
import { requireWorkerKey, verifyWidgetKey } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { until } from '../integration/wait.js'

const workingGuard = () => requireWorkerKey({ keys: secret('wk_health_4f9c1e0b8a7d6c5b4a3f2e1d0c9b8a7f') })

describe.each(expressVersions)('healthCheck ($name)', ({ express }) => {
  function serve(handler: ReturnType<typeof healthCheck>) {
    const app = express()
    app.get('/health', handler)
    return request(app)
  }

  it("answers 200 { status: 'ok', checks } when every guard is ready", async () => {
    const store = memoryRecordStore()
    const res = await serve(healthCheck(workingGuard(), verifyWidgetKey({ records: store.records })))
      .get('/health')
      .expect(200)
      .expect('Content-Type', /application\/json/)
      .expect('Cache-Control', 'no-store')
    const body = res.body as HealthCheckBody
    expect(body.status).toBe('ok')
    expect(body.checks.map(({ name, status }) => ({ name, status }))).toEqual([
      { name: 'requireWorkerKey', status: 'ok' },
      { name: 'verifyWidgetKey', status: 'ok' },
    ])
    expect(body.checks[0]?.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('answers 503 naming the guard whose store is down, with its middleware, code and reason', async () => {
    const store = memoryRecordStore()
    store.fault('throw')
    const res = await serve(
      healthCheck(
        { names: ['worker', 'widget'] },
        workingGuard(),
        verifyWidgetKey({ records: store.records }),
      ),
    )
      .get('/health')
      .expect(503)
    expect(res.body).toEqual({
      status: 'unavailable',
      checks: [
        { name: 'worker', status: 'ok', durationMs: expect.any(Number) },
        {
          name: 'widget',
          status: 'unavailable',
          durationMs: expect.any(Number),
          middleware: 'verifyWidgetKey',
          code: 'auth_unavailable',
          reason: 'record_store_failed',
        },
      ],
    })
  })

  it('reports a misconfigured worker key (F1) as server_misconfigured / expected_key_empty', async () => {
    const res = await serve(healthCheck(requireWorkerKey({ keys: () => undefined })))
      .get('/health')
      .expect(503)
    expect(res.body.checks[0]).toMatchObject({
      middleware: 'requireWorkerKey',
      code: 'server_misconfigured',
      reason: 'expected_key_empty',
    })
  })

  it('counts a guard that does not answer within the timeout as unavailable (ready_timeout)', async () => {
    const store = memoryRecordStore()
    store.fault('hang')
    const res = await serve(healthCheck({ timeout: 50 }, verifyWidgetKey({ records: store.records })))
      .get('/health')
      .expect(503)
    expect(res.body.checks[0]).toMatchObject({ status: 'unavailable', reason: 'ready_timeout' })
    expect(res.body.checks[0].durationMs).toBeGreaterThanOrEqual(45)
  })

  it("never sends a failing check's error message, which could hold a connection string", async () => {
    const password = secret('hunter2-db-password-91c3')
    const leaky: Readiness = {
      ready: async () => {
        throw new Error(`connect ECONNREFUSED postgres://admin:${password}@db.internal:5432/app`)
      },
    }
    const throwsSync: Readiness = {
      ready: () => {
        throw new TypeError(`bad ${password}`)
      },
    }
    const res = await serve(healthCheck(leaky, throwsSync)).get('/health').expect(503)
    expect(res.body.checks).toEqual([
      {
        name: 'check-1',
        status: 'unavailable',
        durationMs: expect.any(Number),
        reason: 'ready_failed',
        error: 'Error',
      },
      {
        name: 'check-2',
        status: 'unavailable',
        durationMs: expect.any(Number),
        reason: 'ready_failed',
        error: 'TypeError',
      },
    ])
  })

  it('shares one run among concurrent probes, so a burst costs each dependency one check', async () => {
    let calls = 0
    let arrived = 0
    let release: () => void = () => {}
    let now = 0
    const clock = { now: () => now }
    const firstSlow: Readiness = {
      ready: () => {
        calls++
        return calls > 1 ? Promise.resolve() : new Promise<void>((resolve) => (release = resolve))
      },
    }
    const app = express()
    app.get(
      '/health',
      (_req, _res, next) => {
        arrived++
        next()
      },
      healthCheck({ clock }, firstSlow),
    )
    const agent = request(app)
    const probes = [agent.get('/health'), agent.get('/health'), agent.get('/health')].map((probe) =>
      probe.then((res) => res.status),
    )
    await until(() => arrived === 3, 'three probes to arrive')
    release()
    expect(await Promise.all(probes)).toEqual([200, 200, 200])
    expect(calls).toBe(1)
    // past the one-second reuse of an answer
    now += 1_001
    await agent.get('/health').expect(200)
    expect(calls).toBe(2)
  })
})

describe('healthCheck options', () => {
  it('refuses anything but guards, and invalid options, with a TypeError', () => {
    const guard = workingGuard()
    expect(() => healthCheck()).toThrow(/at least one guard/)
    expect(() => healthCheck({ timeout: 100 })).toThrow(/at least one guard/)
    expect(() => healthCheck({ timeout: 0 }, guard)).toThrow(/"timeout" must be a positive number/)
    expect(() => healthCheck(guard, {} as Readiness)).toThrow(/argument 2 must be a keyward guard/)
    expect(() => healthCheck({ names: ['a', 'b'] }, guard)).toThrow(/"names" must be an array of 1/)
  })
})

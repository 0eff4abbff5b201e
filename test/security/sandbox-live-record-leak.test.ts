/**
 * The records resolver's answer is cached per tenant id. A resolver that chose records by the
 * request (a sandbox/live header) would serve one environment's records to the other, so it gets
 * no request: the tenant id is the whole cache key, and the environment belongs in it.
 */
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import {
  type DecisionEvent,
  type GuardRequest,
  verifyWidgetKey,
  type WidgetRecordsAnswer,
} from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { expressVersions } from '../helpers/apps.js'
import { newKey, until } from './widget-support.js'

describe.each(expressVersions)('sandbox and live records of one tenant ($name)', ({ express }) => {
  function app(guard: ReturnType<typeof verifyWidgetKey>) {
    const server = express()
    server.get('/widget/config', guard, (req, res) => {
      res.json({ tenant: req.auth?.kind === 'widget' ? req.auth.tenantId : undefined })
    })
    return request(server)
  }

  it('never accepts a sandbox key on live, even from a resolver written to read the request', async () => {
    const live = await newKey()
    const sandbox = await newKey()
    const liveStore = memoryRecordStore({ initial: { acme: live.record } })
    const sandboxStore = memoryRecordStore({ initial: { acme: sandbox.record } })
    // what an integrator writes when the resolver is handed a request
    const records = (tenantId: string, context: unknown): Promise<WidgetRecordsAnswer> => {
      const environment = (context as Partial<GuardRequest> | undefined)?.headers?.['x-environment']
      return environment === 'sandbox' ? sandboxStore.records(tenantId) : liveStore.records(tenantId)
    }
    const agent = app(verifyWidgetKey({ records }))
    const call = (environment: string, key: string) =>
      agent
        .get('/widget/config')
        .set('X-Tenant-Id', 'acme')
        .set('X-Environment', environment)
        .set('X-Widget-Key', key)
    const sandboxFirst = await call('sandbox', sandbox.key)
    const sandboxOnLive = await call('live', sandbox.key)
    expect(sandboxOnLive.status).toBe(401)
    expect(sandboxFirst.status).toBe(401)
    await call('live', live.key).expect(200)
  })

  it('hands the resolver the tenant id and a signal, and nothing of the request', async () => {
    const { key, record } = await newKey()
    const calls: unknown[][] = []
    const guard = verifyWidgetKey({
      records: async (...args: unknown[]) => {
        calls.push(args)
        return record
      },
    })
    await app(guard).get('/widget/config').set('X-Tenant-Id', 'acme').set('X-Widget-Key', key).expect(200)
    expect(calls).toHaveLength(1)
    const [tenantId, context] = calls[0] as [string, Record<string, unknown>]
    expect(tenantId).toBe('acme')
    expect(Object.keys(context)).toEqual(['signal'])
    expect(context.signal).toBeInstanceOf(AbortSignal)
  })

  it('keeps environments apart when the environment is part of the tenant id', async () => {
    const live = await newKey()
    const sandbox = await newKey()
    const store = memoryRecordStore({ initial: { 'live:acme': live.record, 'sandbox:acme': sandbox.record } })
    const guard = verifyWidgetKey({
      records: store.records,
      tenant: (req) => {
        const environment = req.headers['x-environment'] === 'sandbox' ? 'sandbox' : 'live'
        return `${environment}:${String(req.headers['x-tenant-id'])}`
      },
    })
    const agent = app(guard)
    const call = (environment: string, key: string) =>
      agent
        .get('/widget/config')
        .set('X-Tenant-Id', 'acme')
        .set('X-Environment', environment)
        .set('X-Widget-Key', key)
    expect((await call('sandbox', sandbox.key).expect(200)).body.tenant).toBe('sandbox:acme')
    await call('live', sandbox.key).expect(401)
    expect((await call('live', live.key).expect(200)).body.tenant).toBe('live:acme')
    await call('sandbox', live.key).expect(401)
  })

  it('aborts the signal when the store does not answer within timeout, and answers 503', async () => {
    const { key, record } = await newKey()
    const store = memoryRecordStore({ initial: { acme: record } })
    const events: DecisionEvent[] = []
    const guard = verifyWidgetKey({
      records: store.records,
      timeout: 50,
      onDecision: (e) => events.push(e),
    })
    store.fault('hang')
    const res = await app(guard)
      .get('/widget/config')
      .set('X-Tenant-Id', 'acme')
      .set('X-Widget-Key', key)
      .expect(503)
    expect(res.headers['retry-after']).toBe('1')
    expect(events.at(-1)?.reason).toBe('record_store_timeout')
    expect(store.aborted).toBe(1)
  })

  it('aborts the signal of a read in flight when the tenant is invalidated, and answers from a fresh read', async () => {
    const { key, record } = await newKey()
    const store = memoryRecordStore({ initial: { acme: record } })
    const guard = verifyWidgetKey({ records: store.records, timeout: 60_000 })
    store.fault('hang')
    const answer = app(guard)
      .get('/widget/config')
      .set('X-Tenant-Id', 'acme')
      .set('X-Widget-Key', key)
      .then((r) => r)
    await until(() => store.reads === 1)
    store.fault(undefined)
    guard.invalidate('acme')
    expect((await answer).status).toBe(200)
    expect(store.aborted).toBe(1)
    expect(store.reads).toBe(2)
  })
})

/**
 * An unkeyed OPTIONS request must never reach a route handler: only a real CORS preflight goes
 * without a key, and by default the guard answers it itself.
 */
import request from 'supertest'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type DecisionEvent, verifyWidgetKey, type WidgetKeyOptions } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { expressVersions } from '../helpers/apps.js'
import { listen, newKey, sendChunked } from './widget-support.js'

const SHOP = 'https://shop.example.com'

describe.each(expressVersions)('OPTIONS without a key ($name)', ({ express }) => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })

  /** A guard in front of handlers that count every request they see, mounted in the given way. */
  function setup(mount: 'all' | 'router' | 'use', options: Partial<WidgetKeyOptions> = {}) {
    const store = memoryRecordStore()
    const events: DecisionEvent[] = []
    const guard = verifyWidgetKey({ records: store.records, onDecision: (e) => events.push(e), ...options })
    const reached: string[] = []
    const handler = (req: { method: string }, res: { json: (body: unknown) => void }) => {
      reached.push(req.method)
      res.json({ handled: true })
    }
    const app = express()
    if (mount === 'all') app.all('/widget/config', guard, handler)
    else if (mount === 'use') app.use('/widget', guard, handler)
    else {
      const router = express.Router()
      router.use(guard)
      router.use(handler)
      app.use('/widget', router)
    }
    return { app, store, guard, events, reached, agent: request(app) }
  }

  it('checks an OPTIONS request with only an Origin like any request: 401, and app.all never runs the handler', async () => {
    const { agent, reached } = setup('all')
    const res = await agent.options('/widget/config').set('Origin', SHOP).expect(401)
    expect(res.body.code).toBe('missing_credentials')
    expect(reached).toEqual([])
  })

  it('checks a bare OPTIONS request behind router.use(guard); router.use(handler): the handler never runs', async () => {
    const { agent, reached, events } = setup('router')
    await agent.options('/widget/config').expect(401)
    await agent.options('/widget/anything').set('X-Tenant-Id', 'acme').expect(401)
    expect(reached).toEqual([])
    expect(events.map((e) => e.reason)).toEqual(['no_header', 'no_header'])
  })

  it('checks an OPTIONS request that carries a body, even with preflight headers', async () => {
    const { agent, reached } = setup('all')
    await agent
      .options('/widget/config')
      .set('Origin', SHOP)
      .set('Access-Control-Request-Method', 'POST')
      .set('Content-Type', 'text/plain')
      .send('delete every tenant')
      .expect(401)
    expect(reached).toEqual([])
  })

  it('checks an OPTIONS request with a chunked body, even with preflight headers', async () => {
    const { app, reached } = setup('use')
    const server = await listen(app)
    closers.push(server.close)
    const res = await sendChunked(
      `${server.url}/widget/config`,
      'OPTIONS',
      { Origin: SHOP, 'Access-Control-Request-Method': 'POST', 'Content-Type': 'text/plain' },
      'delete every tenant',
    )
    expect(res.status).toBe(401)
    expect(reached).toEqual([])
  })

  it('checks an OPTIONS request with Access-Control-Request-Method but no Origin', async () => {
    const { agent, reached } = setup('use')
    await agent.options('/widget/config').set('Access-Control-Request-Method', 'GET').expect(401)
    expect(reached).toEqual([])
  })

  it('lets an OPTIONS request with a valid key through, like any keyed request', async () => {
    const { key, record } = await newKey()
    const { agent, store, reached } = setup('all')
    store.set('acme', record)
    await agent.options('/widget/config').set('X-Tenant-Id', 'acme').set('X-Widget-Key', key).expect(200)
    expect(reached).toEqual(['OPTIONS'])
  })

  it('answers a real preflight itself with 204 and no CORS headers when no origins are configured', async () => {
    const { agent, reached, events } = setup('all')
    const res = await agent
      .options('/widget/config')
      .set('Origin', SHOP)
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'x-widget-key, x-tenant-id')
      .expect(204)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(reached).toEqual([])
    expect(events).toEqual([])
  })

  it('answers a real preflight from an allowed origin with the CORS headers the key and tenant headers need', async () => {
    const { agent, reached } = setup('router', { origins: [SHOP], tenantHeader: 'x-shop-id' })
    const res = await agent
      .options('/widget/config')
      .set('Origin', SHOP)
      .set('Access-Control-Request-Method', 'GET')
      .expect(204)
    expect(res.headers['access-control-allow-origin']).toBe(SHOP)
    expect(res.headers['access-control-allow-headers']).toBe('x-widget-key, x-shop-id')
    expect(res.headers['access-control-allow-methods']).toMatch(/\bGET\b/)
    expect(res.headers.vary).toMatch(/\bOrigin\b/)
    expect(reached).toEqual([])
  })

  it('answers a real preflight from an origin not allowed with 204 but no CORS headers, so the browser stops', async () => {
    const { agent, reached } = setup('all', { origins: [SHOP] })
    for (const origin of ['https://evil.example.net', `${SHOP}/evil`, 'https://a@shop.example.com', 'null']) {
      const res = await agent
        .options('/widget/config')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'GET')
        .expect(204)
      expect(res.headers['access-control-allow-origin']).toBeUndefined()
      expect(res.headers.vary).toMatch(/\bOrigin\b/)
    }
    expect(reached).toEqual([])
  })

  it("hands a real preflight on with preflight: 'next', and still checks every other OPTIONS", async () => {
    const { agent, reached } = setup('all', { preflight: 'next' })
    await agent
      .options('/widget/config')
      .set('Origin', SHOP)
      .set('Access-Control-Request-Method', 'GET')
      .expect(200)
    expect(reached).toEqual(['OPTIONS'])
    await agent.options('/widget/config').set('Origin', SHOP).expect(401)
    await agent
      .options('/widget/config')
      .set('Origin', SHOP)
      .set('Access-Control-Request-Method', 'GET')
      .send('a body')
      .expect(401)
    expect(reached).toEqual(['OPTIONS'])
  })
})

describe('the deprecated passPreflight option', () => {
  it('warns once with a code, maps true to the default and false to checking preflights like any request', async () => {
    const warnings: Array<{ name: string; code?: string }> = []
    const onWarning = (warning: Error & { code?: string }) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const store = memoryRecordStore()
      const answering = verifyWidgetKey({ records: store.records, passPreflight: true })
      const checking = verifyWidgetKey({ records: store.records, passPreflight: false })
      const { default: express } = await import('express')
      const app = express()
      const reached: string[] = []
      app.all('/a', answering, (_req, res) => {
        reached.push('a')
        res.end()
      })
      app.all('/b', checking, (_req, res) => {
        reached.push('b')
        res.end()
      })
      const preflight = (path: string) =>
        request(app).options(path).set('Origin', SHOP).set('Access-Control-Request-Method', 'GET')
      await preflight('/a').expect(204)
      await preflight('/b').expect(401)
      await request(app).options('/a').expect(401)
      expect(reached).toEqual([])
      await vi.waitFor(() => expect(warnings.length).toBeGreaterThan(0))
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ name: 'DeprecationWarning', code: 'KEYWARD_PASS_PREFLIGHT' })
  })

  it('throws a TypeError naming the fix for an unknown preflight mode, or for both options at once', () => {
    const records = async () => null
    expect(() => verifyWidgetKey({ records, preflight: 'skip' as never })).toThrow(
      /"preflight" must be 'respond'.*or 'next'/,
    )
    expect(() => verifyWidgetKey({ records, preflight: 'next', passPreflight: true })).toThrow(
      /give "preflight" only/,
    )
  })
})

import diagnostics from 'node:diagnostics_channel'
import request from 'supertest'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  DECISION_CHANNEL,
  type DecisionEvent,
  fingerprint,
  fromEnv,
  KeywardError,
  keywardErrorHandler,
  requireWorkerKey,
} from '../../src/index.js'
import { expressVersions } from '../helpers/apps.js'
import { manualClock } from '../helpers/clock.js'
import { secret } from '../helpers/secrets.js'

const KEY_A = secret('wk_A_4f9c1e0b8a7d6c5b4a3f2e1d0c9b8a7f')
const KEY_B = secret('wk_B_0a1b2c3d4e5f60718293a4b5c6d7e8f9')

describe.each(expressVersions)('requireWorkerKey ($name)', ({ express }) => {
  function appWith(guard: ReturnType<typeof requireWorkerKey>) {
    const app = express()
    app.get('/jobs', guard, (req, res) => {
      res.json({ ok: true, auth: req.auth })
    })
    return app
  }

  const savedEnv = { ...process.env }
  beforeEach(() => {
    delete process.env.WORKER_KEY
    delete process.env.WORKER_KEY_PREVIOUS
  })
  afterEach(() => {
    process.env = { ...savedEnv }
  })

  it('accepts the configured key and sets req.auth with the key id', async () => {
    const app = appWith(requireWorkerKey({ keys: [{ id: 'primary', key: KEY_A }] }))
    const res = await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
    expect(res.body.auth).toEqual({ kind: 'worker', keyId: 'primary' })
  })

  it('reads the header case-insensitively and uses the fingerprint as keyId for an unnamed key', async () => {
    const app = appWith(requireWorkerKey({ keys: KEY_A, header: 'X-Internal-Key' }))
    const res = await request(app).get('/jobs').set('x-internal-KEY', KEY_A).expect(200)
    expect(res.body.auth.keyId).toBe(fingerprint(KEY_A))
  })

  it('answers 401 missing_credentials as problem+json when no key is sent', async () => {
    const app = appWith(requireWorkerKey({ keys: KEY_A }))
    const res = await request(app).get('/jobs').expect(401)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.body).toMatchObject({ status: 401, code: 'missing_credentials' })
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('answers 401 invalid_credentials for a wrong key, without saying which check failed', async () => {
    const app = appWith(requireWorkerKey({ keys: KEY_A }))
    const res = await request(app).get('/jobs').set('X-Worker-Key', KEY_B).expect(401)
    expect(res.body.code).toBe('invalid_credentials')
    expect(JSON.stringify(res.body)).not.toContain('key_mismatch')
  })

  it('answers 401 invalid_request for a key sent twice', async () => {
    const app = appWith(requireWorkerKey({ keys: KEY_A }))
    const res = await request(app)
      .get('/jobs')
      .set('X-Worker-Key', [KEY_A, KEY_A] as unknown as string)
      .expect(401)
    expect(res.body.code).toBe('invalid_request')
  })

  // F1, as it happened: the module read WORKER_KEY at import time, before the env was loaded.
  it('resolves the key at request time: a WORKER_KEY set after the app is built works within a second', async () => {
    const clock = manualClock()
    const guard = requireWorkerKey({ keys: fromEnv('WORKER_KEY'), clock })
    const app = appWith(guard)
    const before = await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(500)
    expect(before.body.code).toBe('server_misconfigured')
    process.env.WORKER_KEY = `${KEY_A}\n`
    clock.advance(1_001)
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
  })

  it('answers 500 server_misconfigured when WORKER_KEY is empty, and never compares against ""', async () => {
    process.env.WORKER_KEY = '   '
    const events: DecisionEvent[] = []
    const app = appWith(requireWorkerKey({ keys: fromEnv('WORKER_KEY'), onDecision: (e) => events.push(e) }))
    // an empty header is no credential at all, so it cannot "match" an empty key
    await request(app).get('/jobs').set('X-Worker-Key', '').expect(401)
    const res = await request(app).get('/jobs').set('X-Worker-Key', 'anything').expect(500)
    expect(res.body.code).toBe('server_misconfigured')
    expect(events.at(-1)).toMatchObject({ outcome: 'error', reason: 'expected_key_empty', status: 500 })
  })
  it('rejects ready() with a message naming the unset variable', async () => {
    const clock = manualClock()
    const guard = requireWorkerKey({ keys: fromEnv('WORKER_KEY'), clock })
    const error = await guard.ready().catch((e: unknown) => e)
    expect(KeywardError.is(error)).toBe(true)
    expect((error as KeywardError).reason).toBe('expected_key_empty')
    expect((error as KeywardError).message).toContain('WORKER_KEY is unset')
    process.env.WORKER_KEY = KEY_A
    clock.advance(1_001)
    await expect(guard.ready()).resolves.toBeUndefined()
  })

  // F1 on a production start: the deploy forgot the variable.
  it('refuses to become ready on a production start without the key, and answers 500 meanwhile', async () => {
    process.env.NODE_ENV = 'production'
    const guard = requireWorkerKey({ keys: fromEnv('WORKER_KEY', 'WORKER_KEY_PREVIOUS') })
    await expect(guard.ready()).rejects.toThrow(/none of WORKER_KEY, WORKER_KEY_PREVIOUS is set/)
    await request(appWith(guard)).get('/jobs').set('X-Worker-Key', KEY_A).expect(500)
  })

  // F5: a short test key must not become the production key.
  it('treats a key shorter than 32 characters as a misconfiguration under NODE_ENV=production', async () => {
    process.env.NODE_ENV = 'production'
    process.env.WORKER_KEY = secret('test-key-123')
    const guard = requireWorkerKey({ keys: fromEnv('WORKER_KEY') })
    await expect(guard.ready()).rejects.toMatchObject({ reason: 'expected_key_weak' })
    await request(appWith(guard)).get('/jobs').set('X-Worker-Key', 'test-key-123').expect(500)
    const lenient = requireWorkerKey({ keys: fromEnv('WORKER_KEY'), allowWeakKeys: true })
    await request(appWith(lenient)).get('/jobs').set('X-Worker-Key', 'test-key-123').expect(200)
  })

  it('answers 503 auth_unavailable with Retry-After when the key resolver throws', async () => {
    const app = appWith(
      requireWorkerKey({
        keys: () => {
          throw new Error('vault sealed')
        },
      }),
    )
    const res = await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(503)
    expect(res.body.code).toBe('auth_unavailable')
    expect(res.headers['retry-after']).toBe('1')
  })

  // F2 for worker keys: rotate A → B with no restart and traffic in between.
  it('accepts a rotated key at once through refresh-on-mismatch, then drops the old one when removed', async () => {
    const clock = manualClock()
    let configured: Array<{ id: string; key: string }> = [{ id: 'a', key: KEY_A }]
    let resolves = 0
    const guard = requireWorkerKey({
      keys: () => {
        resolves++
        return configured
      },
      cacheTtl: 60_000,
      clock,
    })
    const app = appWith(guard)
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
    clock.advance(2_000)
    configured = [
      { id: 'b', key: KEY_B },
      { id: 'a', key: KEY_A },
    ]
    const rotated = await request(app).get('/jobs').set('X-Worker-Key', KEY_B).expect(200)
    expect(rotated.body.auth.keyId).toBe('b')
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
    expect(resolves).toBe(2)
    configured = [{ id: 'b', key: KEY_B }]
    guard.invalidate()
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(401)
    await request(app).get('/jobs').set('X-Worker-Key', KEY_B).expect(200)
  })

  it('accepts a key rotated right after a routine load, with no time passing', async () => {
    let configured: string = KEY_A
    const app = appWith(requireWorkerKey({ keys: () => configured, clock: manualClock() }))
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
    configured = KEY_B
    await request(app).get('/jobs').set('X-Worker-Key', KEY_B).expect(200)
  })

  it('re-resolves on mismatch at most once a second, so wrong keys cannot hammer the resolver', async () => {
    const clock = manualClock()
    let resolves = 0
    const app = appWith(
      requireWorkerKey({
        keys: () => {
          resolves++
          return KEY_A
        },
        clock,
      }),
    )
    // the first load, then one re-read for the second wrong key, then nothing for a second
    for (let i = 0; i < 5; i++) {
      await request(app).get('/jobs').set('X-Worker-Key', `wrong-key-${i}`).expect(401)
    }
    expect(resolves).toBe(2)
    clock.advance(999)
    await request(app).get('/jobs').set('X-Worker-Key', 'wrong-key-again').expect(401)
    expect(resolves).toBe(2)
    clock.advance(2)
    await request(app).get('/jobs').set('X-Worker-Key', 'wrong-key-again').expect(401)
    expect(resolves).toBe(3)
  })

  it('uses resolved keys for cacheTtl, then asks the resolver again', async () => {
    const clock = manualClock()
    let resolves = 0
    const guard = requireWorkerKey({
      keys: () => {
        resolves++
        return KEY_A
      },
      cacheTtl: 5_000,
      clock,
    })
    const app = appWith(guard)
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
    expect(resolves).toBe(1)
    clock.advance(5_001)
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
    expect(resolves).toBe(2)
    // one count per request: two misses (cold, expired) and one hit
    expect(guard.stats()).toMatchObject({ hits: 1, misses: 2 })
    // a wrong key peeks at the cached keys, then re-reads them: still one request, one hit
    await request(app).get('/jobs').set('X-Worker-Key', KEY_B).expect(401)
    expect(guard.stats()).toMatchObject({ hits: 2, misses: 2, refreshes: 1 })
  })

  it('coalesces concurrent cold requests into one resolver call', async () => {
    let resolves = 0
    const app = appWith(
      requireWorkerKey({
        keys: async () => {
          resolves++
          await new Promise((r) => setImmediate(r))
          return KEY_A
        },
      }),
    )
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => request(app).get('/jobs').set('X-Worker-Key', KEY_A)),
    )
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(resolves).toBe(1)
  })

  it("passes the KeywardError to next() with onError: 'next', and keywardErrorHandler renders it", async () => {
    const app = express()
    let seen: unknown
    app.get('/jobs', requireWorkerKey({ keys: KEY_A, onError: 'next' }), (_req, res) => {
      res.send('ok')
    })
    app.use((err: unknown, _req: unknown, _res: unknown, next: (e: unknown) => void) => {
      seen = err
      next(err)
    })
    app.use(keywardErrorHandler())
    const res = await request(app).get('/jobs').set('X-Worker-Key', KEY_B).expect(401)
    expect(res.body.code).toBe('invalid_credentials')
    expect(seen).toBeInstanceOf(KeywardError)
    expect((seen as KeywardError).reason).toBe('key_mismatch')
  })

  it('publishes decisions on the keyward:decision channel with fingerprints only', async () => {
    const events: DecisionEvent[] = []
    const listener = (e: unknown) => events.push(e as DecisionEvent)
    diagnostics.subscribe(DECISION_CHANNEL, listener)
    try {
      const app = appWith(requireWorkerKey({ keys: [{ id: 'a', key: KEY_A }] }))
      await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(200)
      await request(app).get('/jobs').set('X-Worker-Key', KEY_B).expect(401)
    } finally {
      diagnostics.unsubscribe(DECISION_CHANNEL, listener)
    }
    expect(events[0]).toMatchObject({
      middleware: 'requireWorkerKey',
      outcome: 'allow',
      keyId: 'a',
      keyFingerprint: fingerprint(KEY_A),
    })
    expect(events[1]).toMatchObject({ outcome: 'deny', code: 'invalid_credentials', reason: 'key_mismatch' })
    expect(events[1]?.keyFingerprint).toBe(fingerprint(KEY_B))
  })

  it('gives the logger misconfigurations and outages, with no key in them', async () => {
    const lines: Array<{ obj: object; msg: string | undefined }> = []
    const app = appWith(
      requireWorkerKey({
        keys: fromEnv('WORKER_KEY'),
        logger: { warn: (obj, msg) => lines.push({ obj, msg }) },
      }),
    )
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(500)
    expect(lines).toHaveLength(1)
    expect(lines[0]?.msg).toContain('WORKER_KEY is unset')
  })
})

describe('requireWorkerKey options', () => {
  it('throws at construction for an empty key, naming the option and the likely cause', () => {
    expect(() => requireWorkerKey({ keys: '' })).toThrow(
      /"keys" must be .*got "" \(an empty string — was the environment variable set\?\)/,
    )
  })

  it('throws for an empty entry in a key list, naming its index', () => {
    expect(() => requireWorkerKey({ keys: [KEY_A, ''] })).toThrow(/"keys\[1\]" must be a non-empty key/)
  })

  it('throws for a bad header name, cacheTtl, or a missing options object', () => {
    expect(() => requireWorkerKey({ keys: KEY_A, header: 'x worker' })).toThrow(
      /"header" must be an HTTP header name/,
    )
    expect(() => requireWorkerKey({ keys: KEY_A, cacheTtl: -1 })).toThrow(
      /"cacheTtl" must be a positive number/,
    )
    expect(() => requireWorkerKey(undefined as never)).toThrow(/pass an options object/)
  })

  it('never echoes a key in an option error', () => {
    let message = ''
    try {
      requireWorkerKey({ keys: [{ id: '', key: KEY_A }] })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/"keys\[0\]\.id"/)
    expect(message).not.toContain(KEY_A)
  })
})

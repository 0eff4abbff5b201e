import { inspect } from 'node:util'
import type { NextFunction, Request, Response } from 'express'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import {
  delegateBearerAuth,
  type KeywardError,
  type KeywardLogger,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'

// A resolver, store or validator may throw an error whose text quotes what it was given; keyward
// must pass on only the error's class name and code, since Express prints the errors it is handed
// (message, stack and cause chain) and the application's logger prints what keyward logs.

const WORKER_KEY = secret('wk_live_7d1f0c9a8b2e4f6a1c3e5b7d9f0a2c4e')
const TOKEN = secret('tok_9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d')
const STORE_PASSWORD = secret('pg-password-3f9a1c7e5b')

/** Everything a printed error shows: message, stack, cause chain, own properties. */
function printed(error: unknown): string {
  return inspect(error, { depth: Number.POSITIVE_INFINITY })
}

/** The first characters of a secret are a leak too (JSON.parse quotes the first ten). */
function quotes(text: string, value: string): boolean {
  return text.includes(value.slice(0, 8))
}

function capturingLogger() {
  const lines: string[] = []
  const logger: KeywardLogger = {
    warn: (obj, msg) => lines.push(`${msg ?? ''} ${printed(obj)}`),
  }
  return { logger, text: () => lines.join('\n') }
}

const savedEnv = { ...process.env }
afterEach(() => {
  process.env = { ...savedEnv }
})

describe.each(expressVersions)('foreign error text ($name)', ({ express }) => {
  /** An app whose error handler prints what Express would print, and answers with it. */
  function printingApp(guard: (req: Request, res: Response, next: NextFunction) => void) {
    const app = express()
    const seen: unknown[] = []
    app.get('/', guard, (_req, res) => {
      res.json({ ok: true })
    })
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(error)
      res.status(500).type('text').send(printed(error))
    })
    return { app, seen }
  }

  it('keeps a key resolver that JSON.parses a bare key out of the log line, ready() and the printed error', async () => {
    process.env.WORKER_KEYS = WORKER_KEY
    const log = capturingLogger()
    const guard = requireWorkerKey({
      keys: () => JSON.parse(process.env.WORKER_KEYS ?? '[]'),
      onError: 'next',
      logger: log.logger,
    })
    const { app, seen } = printingApp(guard)
    const res = await request(app).get('/').set('x-worker-key', WORKER_KEY)
    expect(res.status).toBe(500)
    expect(seen).toHaveLength(1)
    const error = seen[0] as KeywardError
    expect(error.code).toBe('auth_unavailable')
    expect(error.message).toContain('SyntaxError')
    expect(quotes(res.text, WORKER_KEY), 'the key in the printed error').toBe(false)
    expect(quotes(log.text(), WORKER_KEY), 'the key in the log line').toBe(false)
    const rejection = await guard.ready().catch((e: unknown) => e)
    expect(quotes(printed(rejection), WORKER_KEY), 'the key in the ready() rejection').toBe(false)
  })

  it("keeps Express's development error page free of a resolver's error text", async () => {
    process.env.NODE_ENV = 'development'
    process.env.WORKER_KEYS = WORKER_KEY
    const app = express()
    app.get(
      '/',
      requireWorkerKey({ keys: () => JSON.parse(process.env.WORKER_KEYS ?? '[]'), onError: 'next' }),
    )
    const res = await request(app).get('/').set('x-worker-key', 'wk_other_key_000000000000000000000000')
    expect(res.status).toBe(503)
    expect(res.text).toContain('SyntaxError')
    expect(quotes(res.text, WORKER_KEY)).toBe(false)
  })

  it("keeps a validator's message that quotes the token out of the error's cause", async () => {
    const guard = delegateBearerAuth({
      validator: async (token) => {
        throw new Error(`token ${token} could not be parsed`)
      },
      onError: 'next',
    })
    const { app, seen } = printingApp(guard)
    const res = await request(app).get('/').set('authorization', `Bearer ${TOKEN}`)
    expect(res.status).toBe(500)
    expect(printed(seen[0])).toContain('ForeignError')
    expect(quotes(res.text, TOKEN)).toBe(false)
  })

  it("keeps a record store's connection string out of the error's cause and the log", async () => {
    const log = capturingLogger()
    const guard = verifyWidgetKey({
      records: async () => {
        const error = new Error(`connect to postgres://app:${STORE_PASSWORD}@db/app failed`)
        Object.assign(error, { code: 'ECONNREFUSED' })
        throw error
      },
      onError: 'next',
      logger: log.logger,
    })
    const { app, seen } = printingApp(guard)
    const res = await request(app).get('/').set('x-tenant-id', 'acme').set('x-widget-key', 'wid_anything')
    expect(res.status).toBe(500)
    expect((seen[0] as KeywardError).code).toBe('auth_unavailable')
    expect(res.text).toContain('ECONNREFUSED')
    expect(quotes(res.text, STORE_PASSWORD)).toBe(false)
    expect(quotes(log.text(), STORE_PASSWORD)).toBe(false)
  })

  it('repeats a code only when it is a plain identifier, never a sentence the error chose', async () => {
    const guard = delegateBearerAuth({
      validator: async (token) => {
        throw Object.assign(new TypeError('x'), { code: `bad ${token}`, name: `Bad ${token}` })
      },
      onError: 'next',
    })
    const { app, seen } = printingApp(guard)
    const res = await request(app).get('/').set('authorization', `Bearer ${TOKEN}`)
    expect(printed(seen[0])).toContain('TypeError')
    expect(quotes(res.text, TOKEN)).toBe(false)
  })
})

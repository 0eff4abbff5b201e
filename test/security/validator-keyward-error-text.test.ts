/**
 * A custom validator may throw a `KeywardError` of its own to say "cannot decide", and its
 * message may quote the token it was given. Whatever its code and headers, that message is a
 * foreign text: it must not reach the error Express is handed, the logger, or `ready()`.
 */
import { inspect } from 'node:util'
import type { ErrorRequestHandler } from 'express'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { delegateBearerAuth, KeywardError, type TokenValidator } from '../../src/index.js'
import { protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'

const quoting = (init: { code: 'auth_unavailable' | 'server_misconfigured'; retryAfter?: boolean }) =>
  (async (token: string) => {
    throw new KeywardError({
      code: init.code,
      reason: init.code === 'auth_unavailable' ? 'validator_failed' : 'validator_unset',
      ...(init.retryAfter ? { headers: { 'Retry-After': '7' } } : {}),
      message: `session store refused ${token}`,
    })
  }) as TokenValidator

describe.each(expressVersions)(
  "a custom validator's KeywardError that quotes the token ($name)",
  ({ express }) => {
    const printed = async (validator: TokenValidator, token: string) => {
      let caught: unknown
      const logged: string[] = []
      const logger = {
        warn: (obj: object, msg: string) => logged.push(`${msg} ${inspect(obj, { depth: 10 })}`),
      }
      const app = protectedApp(express, delegateBearerAuth({ validator, onError: 'next', logger }))
      const handler: ErrorRequestHandler = (err, _req, res, _next) => {
        caught = err
        res.status(KeywardError.is(err) ? err.status : 500).end()
      }
      app.use(handler)
      const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
      expect(KeywardError.is(caught)).toBe(true)
      return {
        res,
        error: caught as KeywardError,
        text: `${inspect(caught, { depth: 10 })}\n${logged.join('\n')}`,
      }
    }

    it('keeps the code, reason and Retry-After of an auth_unavailable, but not its message', async () => {
      const token = secret('kwt_token-quoted-in-a-keyward-error-01')
      const { res, error, text } = await printed(
        quoting({ code: 'auth_unavailable', retryAfter: true }),
        token,
      )
      expect(res.status).toBe(503)
      expect(error.reason).toBe('validator_failed')
      expect(error.headers['Retry-After']).toBe('7')
      expect(text).not.toContain(token)
    })

    it('keeps the code and reason of a server_misconfigured, but not its message', async () => {
      const token = secret('kwt_token-quoted-in-a-keyward-error-02')
      const { res, error, text } = await printed(quoting({ code: 'server_misconfigured' }), token)
      expect(res.status).toBe(500)
      expect(error.reason).toBe('validator_unset')
      expect(text).not.toContain(token)
    })

    it('keeps a KeywardError of another code out of the cause it becomes', async () => {
      const token = secret('kwt_token-quoted-in-a-keyward-error-04')
      const validator: TokenValidator = async (presented) => {
        throw new KeywardError({
          code: 'invalid_token',
          reason: 'token_inactive',
          message: `no ${presented}`,
        })
      }
      const { res, error, text } = await printed(validator, token)
      expect(res.status).toBe(503)
      expect(error.reason).toBe('validator_failed')
      expect(text).not.toContain(token)
    })

    it("does not pass on the message of a KeywardError from the validator's ready()", async () => {
      const quoted = secret('kwt_secret-quoted-by-a-ready-check-03')
      const validator = Object.assign(async () => ({ active: false as const }), {
        ready: async () => {
          throw new KeywardError({
            code: 'auth_unavailable',
            reason: 'validator_failed',
            headers: { 'Retry-After': '1' },
            message: `cannot log in with ${quoted}`,
          })
        },
      })
      const guard = delegateBearerAuth({ validator })
      const error = await guard.ready().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(KeywardError.is(error)).toBe(true)
      expect((error as KeywardError).reason).toBe('validator_failed')
      expect(inspect(error, { depth: 10 })).not.toContain(quoted)
    })
  },
)

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import type { ErrorRequestHandler } from 'express'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  delegateBearerAuth,
  httpValidator,
  jwtValidator,
  KeywardError,
  type TokenValidator,
} from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
})

describe.each(expressVersions)(
  'foreign error text in what the guard passes on, with $name',
  ({ express }) => {
    /** The error the guard hands to Express (onError: 'next'), as Express would print it. */
    const printed = async (validator: TokenValidator, token: string) => {
      let caught: unknown
      const app = protectedApp(
        express,
        delegateBearerAuth({ validator, onError: 'next', circuitBreaker: false }),
      )
      const handler: ErrorRequestHandler = (err, _req, res, _next) => {
        caught = err
        res.status(503).end()
      }
      app.use(handler)
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(503)
      expect(KeywardError.is(caught)).toBe(true)
      return { error: caught as KeywardError, text: inspect(caught, { depth: 10 }) }
    }

    it("keeps only the class and code of a custom validator's error, whose message quotes the token", async () => {
      const token = secret('kwt_token-quoted-by-a-validator-0001')
      const { text } = await printed(async (presented) => {
        throw new SyntaxError(`Unexpected token in ${presented}`)
      }, token)
      expect(text).not.toContain(token)
      expect(text).toContain('SyntaxError')
    })

    it("does not reuse the message of a custom validator's KeywardError", async () => {
      const token = secret('kwt_token-quoted-by-a-validator-0002')
      const { text, error } = await printed(async (presented) => {
        throw new KeywardError({
          code: 'auth_unavailable',
          reason: 'validator_failed',
          message: `no ${presented}`,
        })
      }, token)
      expect(text).not.toContain(token)
      expect(error.headers['Retry-After']).toBe('1')
    })

    it('does not reuse the message of a KeywardError thrown by a custom mapResponse', async () => {
      const quoted = secret('answer-text-that-quotes-a-secret-0003')
      const token = secret(await auth.issue())
      const { text } = await printed(
        httpValidator({
          url: auth.validateUrl,
          mapResponse: () => {
            throw new KeywardError({
              code: 'auth_unavailable',
              reason: 'validator_bad_response',
              message: `cannot read ${quoted}`,
            })
          },
        }),
        token,
      )
      expect(text).not.toContain(quoted)
      expect(text).toContain('validator_bad_response')
    })

    it("names an HTTP client's failure by class and code only", async () => {
      const closed = createServer()
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
      const { port } = closed.address() as AddressInfo
      await new Promise<void>((resolve) => closed.close(() => resolve()))
      const token = secret('kwt_token-for-a-closed-port-00000004')
      const { text, error } = await printed(
        httpValidator({ url: `http://127.0.0.1:${port}/validate` }),
        token,
      )
      expect(error.message).toContain('ECONNREFUSED')
      // undici's own words ("connect ECONNREFUSED 127.0.0.1:…") stay out
      expect(text).not.toMatch(/connect ECONNREFUSED/)
    })

    it("names jose's failure to read a JWKS by class and code only", async () => {
      const token = secret(await auth.issue({ format: 'jwt' }))
      auth.fault('error')
      const { text, error } = await printed(
        jwtValidator({ jwksUri: auth.jwksUri, issuer: auth.issuer, audience: auth.audience }),
        token,
      )
      expect(error.message).toMatch(/ERR_J/)
      expect(text).not.toContain('Expected 200 OK')
    })
  },
)

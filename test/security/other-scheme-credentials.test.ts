import basicAuth from 'express-basic-auth'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, httpValidator } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { decisions, protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.requests.length = 0
})

const PASSWORD = secret('basic-password-of-the-admin')
const basic = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`

describe.each(expressVersions)(
  'Authorization of another scheme (RFC 6750 §3.1), with $name',
  ({ express }) => {
    const guard = (options: Partial<Parameters<typeof delegateBearerAuth>[0]> = {}) =>
      delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), ...options })

    it.each([basic, 'Token abcdef', 'Digest username="a"', 'DPoP'])(
      'answers %j with 401 missing_credentials and a bare challenge, without asking the auth service',
      async (value) => {
        const seen = decisions()
        const res = await request(protectedApp(express, guard({ onDecision: seen.onDecision })))
          .get('/items')
          .set('Authorization', value)
        expect(res.status).toBe(401)
        expect(res.body.code).toBe('missing_credentials')
        expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
        expect(seen.events[0]).toMatchObject({ outcome: 'deny', reason: 'other_scheme' })
        expect(auth.requests).toHaveLength(0)
      },
    )

    it('passes a Basic request on with credentialsRequired: false, so a Basic guard after it can take it', async () => {
      const app = express()
      app.get(
        '/admin',
        guard({ credentialsRequired: false }),
        basicAuth({ users: { admin: PASSWORD } }),
        (req, res) => {
          // express-basic-auth sets req.auth = { user, password }
          const auth = req.auth as unknown as { kind?: string; user?: string }
          res.json({ kind: auth.kind ?? null, user: auth.user })
        },
      )
      const res = await request(app).get('/admin').set('Authorization', basic)
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ kind: null, user: 'admin' })
      await request(app).get('/admin').expect(401)
    })

    it.each(['Bearer', 'Bearer  abc', 'Bearer abc def', 'Bearerabc', 'Bearer\tabc'])(
      'still answers the malformed bearer header %j with 400 invalid_request, credentialsRequired or not',
      async (value) => {
        for (const credentialsRequired of [true, false]) {
          const res = await request(protectedApp(express, guard({ credentialsRequired })))
            .get('/items')
            .set('Authorization', value)
          expect(res.status).toBe(400)
          expect(res.body.code).toBe('invalid_request')
        }
      },
    )
  },
)

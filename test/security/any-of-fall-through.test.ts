/**
 * Attack: on a route open to several credentials, send a credential that fails (a stolen but
 * revoked token, a guessed key) next to another one, hoping a refusal of the first is retried as
 * the second — so one guard's "no" would be overruled by a weaker guard. Defence: in anyOf the
 * first guard whose credential is present decides, and its refusal is the answer. The choice
 * extends to a bad credential beside a *valid* one: that request is refused too, since a client
 * that sends a failing credential is either misconfigured (and should hear so) or probing.
 */
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  anyOf,
  delegateBearerAuth,
  httpValidator,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { type AuthService, memoryRecordStore, startAuthService } from '../../src/testing/index.js'
import { decisions } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { newKey } from './widget-support.js'

const WORKER_KEY = secret('wk_fallthrough_0a1b2c3d4e5f60718293a4b5c6d7e8f9')
const WRONG_KEY = secret('wk_guessed_0000000000000000000000000000')

let auth: AuthService
beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.requests.length = 0
  auth.fault(undefined)
})

describe.each(expressVersions)('anyOf never falls through to another guard ($name)', ({ express }) => {
  const worker = () => requireWorkerKey({ keys: WORKER_KEY })
  const bearer = () => delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
  const app = (guard: ReturnType<typeof anyOf>) => {
    const built = express()
    built.get('/internal', guard, (req, res) => {
      res.json(req.auth)
    })
    return built
  }

  it.each([
    ['bearer first', () => anyOf(bearer(), worker())],
    ['worker first', () => anyOf(worker(), bearer())],
  ])('refuses a revoked bearer token sent with a wrong worker key (%s)', async (_order, make) => {
    const token = secret(await auth.issue())
    auth.revoke(token)
    const res = await request(app(make()))
      .get('/internal')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Worker-Key', WRONG_KEY)
    expect(res.status).toBe(401)
    expect(res.body.auth).toBeUndefined()
  })

  it('refuses a revoked bearer token sent with a valid worker key when the bearer guard comes first', async () => {
    const token = secret(await auth.issue())
    auth.revoke(token)
    const seen = decisions()
    const res = await request(app(anyOf({ onDecision: seen.onDecision }, bearer(), worker())))
      .get('/internal')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Worker-Key', WORKER_KEY)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_token')
    expect(seen.events).toEqual([
      expect.objectContaining({
        middleware: 'delegateBearerAuth',
        outcome: 'deny',
        reason: 'token_inactive',
      }),
    ])
  })

  it('refuses a wrong worker key sent with a valid bearer token when the worker guard comes first, without asking the auth service', async () => {
    const token = secret(await auth.issue())
    const res = await request(app(anyOf(worker(), bearer())))
      .get('/internal')
      .set('X-Worker-Key', WRONG_KEY)
      .set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_credentials')
    expect(auth.requests.filter((entry) => entry.path === '/validate')).toHaveLength(0)
  })

  it('refuses a wrong widget key sent with a valid bearer token', async () => {
    const { record } = await newKey()
    const widget = verifyWidgetKey({ records: memoryRecordStore({ initial: { acme: record } }).records })
    const token = secret(await auth.issue())
    const res = await request(app(anyOf(widget, bearer())))
      .get('/internal')
      .set('X-Tenant-Id', 'acme')
      .set('X-Widget-Key', secret('wid_not_the_key_of_acme_at_all'))
      .set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_credentials')
  })

  it('answers 503 when the first present guard cannot decide, rather than asking the next one', async () => {
    const token = secret(await auth.issue())
    auth.fault('down')
    const res = await request(app(anyOf(bearer(), worker())))
      .get('/internal')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Worker-Key', WORKER_KEY)
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBeDefined()
  })

  it('still accepts each credential alone', async () => {
    const token = secret(await auth.issue())
    const guard = anyOf(worker(), bearer())
    await request(app(guard)).get('/internal').set('X-Worker-Key', WORKER_KEY).expect(200)
    await request(app(guard)).get('/internal').set('Authorization', `Bearer ${token}`).expect(200)
  })
})

import type { ErrorRequestHandler } from 'express'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  delegateBearerAuth,
  fingerprint,
  fromEnv,
  httpValidator,
  KeywardError,
  keywardErrorHandler,
  requireScopes,
} from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { decisions, protectedApp } from './support.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.requests.length = 0
})

const validatorCalls = () => auth.requests.filter((entry) => entry.path === '/validate').length

describe.each(expressVersions)('delegateBearerAuth with $name', ({ express }) => {
  const guard = (options: Partial<Parameters<typeof delegateBearerAuth>[0]> = {}) =>
    delegateBearerAuth({
      validator: httpValidator({ url: auth.validateUrl, serviceId: 'items-api' }),
      ...options,
    })

  it('accepts a valid token from Authorization: Bearer and sets req.auth', async () => {
    const token = secret(
      await auth.issue({ subject: 'alice', scopes: ['items:read', 'items:write'], expiresIn: 600 }),
    )
    const res = await request(protectedApp(express, guard()))
      .get('/items')
      .set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      kind: 'bearer',
      subject: 'alice',
      scopes: ['items:read', 'items:write'],
      keyId: fingerprint(token),
      claims: { sub: 'alice', client_id: auth.client.id },
    })
    const expiresAt = new Date(res.body.expiresAt).getTime()
    expect(expiresAt).toBeGreaterThan(Date.now() + 500_000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000)
  })

  it('sends the token to the auth service in the Authorization header and never in the JSON body (F4)', async () => {
    const token = secret(await auth.issue())
    await request(protectedApp(express, guard()))
      .get('/items')
      .set('Authorization', `Bearer ${token}`)
      .expect(200)
    expect(auth.requests).toHaveLength(1)
    const [sent] = auth.requests
    expect(sent).toMatchObject({
      method: 'POST',
      path: '/validate',
      authorization: true,
      tokenFingerprint: fingerprint(token),
    })
    expect([...(sent?.bodyKeys ?? [])].sort()).toEqual(['client_ip', 'service_id'])
  })

  it.each(['bearer', 'BEARER', 'bEaReR'])('accepts the scheme written %s', async (scheme) => {
    const token = secret(await auth.issue())
    await request(protectedApp(express, guard()))
      .get('/items')
      .set('Authorization', `${scheme} ${token}`)
      .expect(200)
  })

  it('answers 401 missing_credentials with a bare Bearer challenge when no Authorization header is sent', async () => {
    const res = await request(protectedApp(express, guard())).get('/items')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.body).toMatchObject({ status: 401, code: 'missing_credentials' })
    expect(validatorCalls()).toBe(0)
  })

  it('names its own realm in the challenge', async () => {
    const res = await request(protectedApp(express, guard({ realm: 'items' }))).get('/items')
    expect(res.headers['www-authenticate']).toBe('Bearer realm="items"')
  })

  it.each([
    ['the scheme glued to the token', 'Bearerabcdef', 'bad_scheme'],
    ['the scheme alone', 'Bearer', 'token_malformed'],
    ['two spaces', 'Bearer  abcdef', 'token_malformed'],
    ['two words', 'Bearer abc def', 'token_malformed'],
    ['a character outside token68', 'Bearer abc!def', 'token_malformed'],
    ['a quoted token', 'Bearer "abcdef"', 'token_malformed'],
    ['a comma-joined pair', 'Bearer abc, Bearer def', 'header_comma_joined'],
  ])('answers 400 invalid_request for %s without asking the auth service', async (_what, value, reason) => {
    const seen = decisions()
    const res = await request(protectedApp(express, guard({ onDecision: seen.onDecision })))
      .get('/items')
      .set('Authorization', value)
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('invalid_request')
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_request"')
    expect(seen.events[0]).toMatchObject({ outcome: 'deny', status: 400, reason })
    expect(validatorCalls()).toBe(0)
  })

  it('answers 400 invalid_request header_repeated when Authorization is sent twice', async () => {
    const token = secret(await auth.issue())
    const seen = decisions()
    const res = await request(protectedApp(express, guard({ onDecision: seen.onDecision })))
      .get('/items')
      .set('Authorization', [`Bearer ${token}`, `Bearer ${token}`] as unknown as string)
    expect(res.status).toBe(400)
    expect(seen.events[0]).toMatchObject({ reason: 'header_repeated' })
  })

  it('answers 401 invalid_token for a token the auth service does not know', async () => {
    const token = secret('kwt_never-issued-by-this-service-0123456789')
    const seen = decisions()
    const res = await request(protectedApp(express, guard({ onDecision: seen.onDecision })))
      .get('/items')
      .set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_token')
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
    expect(seen.events[0]).toMatchObject({
      outcome: 'deny',
      reason: 'token_inactive',
      keyFingerprint: fingerprint(token),
    })
  })

  it('answers 401 invalid_token for a revoked token', async () => {
    const token = secret(await auth.issue())
    auth.revoke(token)
    const res = await request(protectedApp(express, guard()))
      .get('/items')
      .set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_token')
  })

  it('answers 401 invalid_token for an expired token', async () => {
    const token = secret(await auth.issue({ expiresIn: -30 }))
    const res = await request(protectedApp(express, guard()))
      .get('/items')
      .set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(401)
  })

  it('answers 403 insufficient_scope with the required scopes in the challenge', async () => {
    const token = secret(await auth.issue({ scopes: ['items:read'] }))
    const seen = decisions()
    const app = protectedApp(
      express,
      guard(),
      requireScopes(['items:read', 'items:write'], { onDecision: seen.onDecision }),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('insufficient_scope')
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="items:read items:write"',
    )
    expect(seen.events[0]).toMatchObject({ reason: 'scope_missing', detail: { missing: 'items:write' } })
  })

  it('passes requireScopes when every required scope is granted', async () => {
    const token = secret(await auth.issue({ scopes: ['items:read', 'items:write'] }))
    const app = protectedApp(express, guard(), requireScopes('items:read', 'items:write'))
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
  })

  it('answers 401 from requireScopes when no guard has set req.auth', async () => {
    const res = await request(protectedApp(express, requireScopes('items:read'))).get('/items')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('passes a request without Authorization on, without req.auth, when credentialsRequired is false', async () => {
    const seen = decisions()
    const res = await request(
      protectedApp(express, guard({ credentialsRequired: false, onDecision: seen.onDecision })),
    ).get('/items')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ anonymous: true })
    expect(seen.events[0]).toMatchObject({ outcome: 'allow', reason: 'no_header' })
    expect(validatorCalls()).toBe(0)
  })

  it('still sets req.auth for a valid token when credentialsRequired is false', async () => {
    const token = secret(await auth.issue({ subject: 'bob' }))
    const res = await request(protectedApp(express, guard({ credentialsRequired: false })))
      .get('/items')
      .set('Authorization', `Bearer ${token}`)
    expect(res.body).toMatchObject({ kind: 'bearer', subject: 'bob' })
  })

  it('still refuses a malformed header and an invalid token when credentialsRequired is false', async () => {
    const app = protectedApp(express, guard({ credentialsRequired: false }))
    await request(app).get('/items').set('Authorization', 'Bearer abc def').expect(400)
    await request(app).get('/items').set('Authorization', '').expect(401)
    const token = secret('kwt_not-a-token-this-service-knows-42')
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(401)
  })

  it('answers 500 server_misconfigured naming the variable while AUTH_SERVICE_URL is unset, and works once it is set (F1)', async () => {
    const variable = 'KEYWARD_TEST_BEARER_AUTH_URL'
    delete process.env[variable]
    const warnings: string[] = []
    const seen = decisions()
    const bearer = delegateBearerAuth({
      validator: httpValidator({ url: fromEnv(variable) }),
      logger: { warn: (_obj, msg) => warnings.push(msg ?? '') },
      onDecision: seen.onDecision,
    })
    const app = protectedApp(express, bearer)
    const token = secret(await auth.issue())
    try {
      const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(500)
      expect(res.body.code).toBe('server_misconfigured')
      expect(seen.events[0]).toMatchObject({ outcome: 'error', reason: 'validator_unset' })
      expect(warnings.join('\n')).toContain(variable)
      await expect(bearer.ready()).rejects.toThrow(variable)

      process.env[variable] = auth.validateUrl
      await expect(bearer.ready()).resolves.toBeUndefined()
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
    } finally {
      delete process.env[variable]
    }
  })

  it('answers 500 server_misconfigured when the resolved url is not an http(s) URL', async () => {
    const variable = 'KEYWARD_TEST_BEARER_BAD_URL'
    process.env[variable] = 'auth.internal:8080/validate'
    const seen = decisions()
    try {
      const app = protectedApp(
        express,
        delegateBearerAuth({
          validator: httpValidator({ url: fromEnv(variable) }),
          onDecision: seen.onDecision,
        }),
      )
      const token = secret(await auth.issue())
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(500)
      expect(seen.events[0]).toMatchObject({ reason: 'validator_url_invalid' })
    } finally {
      delete process.env[variable]
    }
  })

  it('passes the KeywardError to the error handler with onError next', async () => {
    const caught: unknown[] = []
    const app = protectedApp(express, guard({ onError: 'next' }))
    const spy: ErrorRequestHandler = (err, _req, _res, next) => {
      caught.push(err)
      next(err)
    }
    app.use(spy, keywardErrorHandler())
    const res = await request(app).get('/items')
    expect(res.status).toBe(401)
    expect(KeywardError.is(caught[0])).toBe(true)
    expect((caught[0] as KeywardError).headers['WWW-Authenticate']).toBe('Bearer realm="api"')
  })

  it('answers 503 auth_unavailable with Retry-After, never 401, when a validator throws', async () => {
    const token = secret('opaque-token-the-validator-chokes-on')
    const warnings: string[] = []
    const seen = decisions()
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: async (presented) => {
          throw new Error(`upstream refused ${presented}`)
        },
        logger: { warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
        onDecision: seen.onDecision,
      }),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('1')
    expect(res.body.code).toBe('auth_unavailable')
    expect(seen.events[0]).toMatchObject({ outcome: 'error', reason: 'validator_failed' })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).not.toContain(token)
  })

  it('answers 503 validator_bad_response when a validator resolves with something that is not a verdict', async () => {
    const token = secret('opaque-token-with-a-confused-validator')
    const seen = decisions()
    const validator = (async () => ({ valid: true })) as unknown as Parameters<
      typeof delegateBearerAuth
    >[0]['validator']
    const app = protectedApp(express, delegateBearerAuth({ validator, onDecision: seen.onDecision }))
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(503)
    expect(seen.events[0]).toMatchObject({ reason: 'validator_bad_response' })
  })

  it('refuses a token a custom validator calls active but whose expiresAt has passed', async () => {
    const token = secret('opaque-token-that-expired-a-minute-ago')
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: async () => ({ active: true, expiresAt: new Date(Date.now() - 60_000) }),
      }),
    )
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(401)
  })

  it('publishes decisions that carry the token fingerprint and never the token', async () => {
    const token = secret(await auth.issue())
    const seen = decisions()
    await request(protectedApp(express, guard({ onDecision: seen.onDecision })))
      .get('/items')
      .set('Authorization', `Bearer ${token}`)
      .expect(200)
    expect(seen.events[0]).toMatchObject({
      middleware: 'delegateBearerAuth',
      outcome: 'allow',
      reason: 'token_active',
      keyFingerprint: fingerprint(token),
      keyId: fingerprint(token),
      cache: 'miss',
    })
    expect(JSON.stringify(seen.events)).not.toContain(token)
  })
})

describe('delegateBearerAuth options', () => {
  const validator = async () => ({ active: false as const })

  it('throws a TypeError naming "validator" when it is missing', () => {
    expect(() => delegateBearerAuth({} as never)).toThrow(/"validator" must be a function/)
  })

  it.each([
    [{ cacheTtl: -1 }, '"cacheTtl"'],
    [{ negativeTtl: Number.NaN }, '"negativeTtl"'],
    [{ staleIfError: -5 }, '"staleIfError"'],
    [{ timeout: 0 }, '"timeout"'],
    [{ cacheSize: 1.5 }, '"cacheSize"'],
    [{ circuitBreaker: { threshold: 0 } }, '"circuitBreaker.threshold"'],
    [{ realm: 'a"b' }, '"realm"'],
    [{ credentialsRequired: 'no' }, '"credentialsRequired"'],
    [{ invalidation: {} }, '"invalidation"'],
  ])('throws a TypeError naming the option for %j', (options, name) => {
    expect(() => delegateBearerAuth({ validator, ...(options as object) })).toThrow(TypeError)
    expect(() => delegateBearerAuth({ validator, ...(options as object) })).toThrow(name)
  })

  it('throws a TypeError from requireScopes without scopes or with a scope containing a space', () => {
    expect(() => requireScopes()).toThrow(/at least one scope/)
    expect(() => requireScopes('items read')).toThrow(TypeError)
  })

  it('throws a TypeError from httpValidator for a literal url that is not http(s)', () => {
    expect(() => httpValidator({ url: 'ftp://auth.internal/validate' })).toThrow(
      /"url" must be an absolute http\(s\) URL/,
    )
    expect(() => httpValidator({ url: '' })).toThrow(/"url" must be a non-empty string/)
  })

  it('throws a TypeError from httpValidator when extra headers would replace Authorization', () => {
    expect(() =>
      httpValidator({ url: 'http://127.0.0.1/validate', headers: { Authorization: 'x' } }),
    ).toThrow(/Authorization/)
  })
})

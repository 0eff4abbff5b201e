import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  delegateBearerAuth,
  fingerprint,
  introspectionValidator,
  jwtValidator,
  requireScopes,
} from '../../src/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { decisions, protectedApp } from './support.js'

// A real authorization server nobody here wrote: oidc-provider, with a client-credentials
// client. Opaque tokens are checked by introspection, JWT access tokens through its JWKS.

const RESOURCE = 'https://items.api.test'
const CLIENT_ID = 'items-worker'
const CLIENT_SECRET = secret('items-worker-secret-for-oidc-provider-tests')
let server: Server
let issuer: string

beforeAll(async () => {
  let provider: Provider | undefined
  server = createServer((req, res) => provider?.callback()(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
        scope: 'items:read items:write',
      },
    ],
    scopes: ['openid', 'items:read', 'items:write'],
    ttl: { ClientCredentials: 600 },
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'ES256', use: 'sig' }] },
    cookies: { keys: [secret('cookie-signing-key-for-oidc-provider-tests')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true, allowedPolicy: async () => true },
      resourceIndicators: {
        enabled: true,
        // no resource requested: an opaque token for introspection
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (resource !== RESOURCE) throw new Error(`unknown resource ${resource}`)
          return {
            scope: 'items:read items:write',
            audience: RESOURCE,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
    },
  })
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`

async function clientCredentialsToken(params: Record<string, string>): Promise<string> {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  })
  const body = (await response.json()) as {
    access_token?: string
    error?: string
    error_description?: string
  }
  if (!body.access_token) throw new Error(`token request failed: ${body.error} ${body.error_description}`)
  return secret(body.access_token)
}

describe.each(expressVersions)('delegateBearerAuth against oidc-provider, with $name', ({ express }) => {
  it('accepts an opaque client-credentials token through RFC 7662 introspection', async () => {
    const token = await clientCredentialsToken({ scope: 'items:read' })
    expect(token.split('.')).toHaveLength(1)
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: introspectionValidator({
          url: `${issuer}/token/introspection`,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
        }),
      }),
      requireScopes('items:read'),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      kind: 'bearer',
      scopes: ['items:read'],
      keyId: fingerprint(token),
      claims: { client_id: CLIENT_ID, active: true },
    })
    expect(new Date(res.body.expiresAt).getTime()).toBeGreaterThan(Date.now())
  })

  it('introspects with client_secret_post as well as Basic', async () => {
    const token = await clientCredentialsToken({ scope: 'items:read' })
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: introspectionValidator({
          url: `${issuer}/token/introspection`,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          clientAuthentication: 'client_secret_post',
        }),
      }),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(200)
    expect(res.body.claims).toMatchObject({ client_id: CLIENT_ID })
  })

  it('answers 500 server_misconfigured, not 401, when oidc-provider refuses our client secret', async () => {
    const token = await clientCredentialsToken({ scope: 'items:read' })
    const seen = decisions()
    const wrong = secret('not-the-items-worker-secret-at-all')
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: introspectionValidator({
          url: `${issuer}/token/introspection`,
          clientId: CLIENT_ID,
          clientSecret: wrong,
        }),
        onDecision: seen.onDecision,
      }),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(500)
    expect(res.body.code).toBe('server_misconfigured')
    expect(seen.events[0]).toMatchObject({ reason: 'validator_client_rejected' })
  })

  it('refuses an opaque token once it is revoked at the server and dropped from the cache', async () => {
    const token = await clientCredentialsToken({ scope: 'items:read' })
    const bearer = delegateBearerAuth({
      validator: introspectionValidator({
        url: `${issuer}/token/introspection`,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
      }),
    })
    const app = protectedApp(express, bearer)
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
    const revoked = await fetch(`${issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    })
    expect(revoked.status).toBe(200)
    bearer.invalidate(fingerprint(token))
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_token')
  })

  it('answers 403 insufficient_scope for an introspected token without the required scope', async () => {
    const token = await clientCredentialsToken({ scope: 'items:read' })
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: introspectionValidator({
          url: `${issuer}/token/introspection`,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
        }),
      }),
      requireScopes('items:write'),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(403)
    expect(res.headers['www-authenticate']).toContain('scope="items:write"')
  })

  it('accepts a JWT access token through the JWKS found by discovery from the issuer alone', async () => {
    const token = await clientCredentialsToken({ scope: 'items:read items:write', resource: RESOURCE })
    expect(token.split('.')).toHaveLength(3)
    const seen = decisions()
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: jwtValidator({ issuer, audience: RESOURCE, typ: 'at+jwt' }),
        onDecision: seen.onDecision,
      }),
      requireScopes('items:write'),
    )
    const res = await request(app).get('/items').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      kind: 'bearer',
      subject: CLIENT_ID,
      scopes: ['items:read', 'items:write'],
      claims: { iss: issuer, aud: RESOURCE },
    })
    expect(seen.events[0]).toMatchObject({ outcome: 'allow', reason: 'token_active' })
  })

  it('refuses an oidc-provider JWT when this API is not its audience', async () => {
    const token = await clientCredentialsToken({ scope: 'items:read', resource: RESOURCE })
    const seen = decisions()
    const app = protectedApp(
      express,
      delegateBearerAuth({
        validator: jwtValidator({ issuer, audience: 'https://other.api.test' }),
        onDecision: seen.onDecision,
      }),
    )
    await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(401)
    expect(seen.events[0]).toMatchObject({ reason: 'token_claim_invalid' })
  })

  it('reports ready() once discovery and the JWKS answer', async () => {
    await expect(
      delegateBearerAuth({ validator: jwtValidator({ issuer, audience: RESOURCE }) }).ready(),
    ).resolves.toBeUndefined()
    await expect(
      delegateBearerAuth({
        validator: introspectionValidator({
          url: `${issuer}/token/introspection`,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
        }),
      }).ready(),
    ).resolves.toBeUndefined()
  })
})

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import { fingerprint } from '../core/fingerprint.js'

/**
 * Ways to make the auth service misbehave on demand:
 * - `down`: every connection is destroyed as soon as it is made (and open ones are closed);
 * - `slow`: answers only after `delay` ms;
 * - `error`: answers 500;
 * - `malformed`: answers 200 with a body that is not valid JSON;
 * - `reset`: reads the request, then resets the connection without answering.
 */
export type AuthServiceFault = 'down' | 'slow' | 'error' | 'malformed' | 'reset'

export interface AuthServiceOptions {
  /** The introspection client's id. Default `'keyward-test-api'`. */
  clientId?: string
  /** The introspection client's secret. Default: random. */
  clientSecret?: string
  /** `aud` of issued tokens. Default `'keyward-test-api'`. */
  audience?: string
  /** JWT signing algorithm. Default `'ES256'`. */
  algorithm?: 'ES256' | 'RS256' | 'EdDSA'
  /** How long the `slow` fault delays each answer, ms. Default 10 000. */
  slowDelay?: number
  /**
   * The service's clock, ms since the epoch, for `exp`/`iat` and expiry checks. Default
   * `Date.now`. Inject one to test expiry without waiting.
   */
  now?: () => number
}

/** What `issue()` mints. */
export interface IssueOptions {
  /** `sub`. Default `'user-1'`. */
  subject?: string
  /** Granted scopes (`scope`, space-separated). Default none. */
  scopes?: string[]
  /** Lifetime in seconds, like OAuth's `expires_in`; negative mints an expired token. Default 3600. */
  expiresIn?: number
  /**
   * `'opaque'` (default): a random string only this service can check (`/validate`,
   * `/introspect`). `'jwt'`: a signed RFC 9068 access token, also checkable with `jwtValidator`
   * against `jwksUri`.
   */
  format?: 'opaque' | 'jwt'
  /** Extra claims (JWT payload; members of the `/validate` and `/introspect` answers). */
  claims?: Record<string, unknown>
  /**
   * The only client addresses `/validate` accepts the token from (the `client_ip` of the
   * request body), like an auth service's per-token address rule. Default: any address.
   */
  clientIps?: string[]
}

/** One request the service received. Tokens appear only as fingerprints. */
export interface AuthServiceRequest {
  /** HTTP method. */
  method: string
  /** Path without the query. */
  path: string
  /** Whether an `Authorization` header came. */
  authorization: boolean
  /** The top-level keys of a JSON or form body (never their values). */
  bodyKeys: string[]
  /** `fingerprint()` of the token presented (header, or introspection's `token`), if any. */
  tokenFingerprint?: string
}

/** A running auth service; see {@link startAuthService}. */
export interface AuthService {
  /** Its origin, e.g. `http://127.0.0.1:53121`; also the `issuer`. */
  url: string
  /** The `httpValidator` contract endpoint: `POST` with `Authorization: Bearer`. */
  validateUrl: string
  /** The RFC 7662 introspection endpoint. */
  introspectionUrl: string
  /** The JWKS with the public key JWTs are signed with. */
  jwksUri: string
  /** `iss` of issued JWTs; discovery documents are served under it. */
  issuer: string
  /** `aud` of issued tokens. */
  audience: string
  /** The introspection client's credentials. */
  client: { id: string; secret: string }
  /** Mints a token. Register it with your test's secret scanner if you have one. */
  issue(options?: IssueOptions): Promise<string>
  /** Revokes a token: `/validate` and `/introspect` refuse it from now on (a JWT's signature stays valid). */
  revoke(token: string): void
  /** Starts a fault, or ends it with `undefined`. `delay` overrides `slowDelay` for `slow`. */
  fault(mode: AuthServiceFault | undefined, options?: { delay?: number }): void
  /**
   * How `/validate` answers a token it does not accept (unknown, revoked, expired, or from an
   * address it was not issued for): default `401`. Set 400, 429 or 500 (with `headers` such as
   * `Retry-After`) to act like services whose token parser or rate limiter answers that way;
   * `refuseWith(401)` restores the default.
   */
  refuseWith(status: number, headers?: Record<string, string>): void
  /** Every request received, oldest first. Clear it with `requests.length = 0`. */
  requests: AuthServiceRequest[]
  /** Stops the server and drops its connections. */
  close(): Promise<void>
}

interface IssuedToken {
  subject: string
  scopes: string[]
  exp: number
  iat: number
  format: 'opaque' | 'jwt'
  claims: Record<string, unknown>
  revoked: boolean
  clientIps: string[] | undefined
}

const TOKEN68 = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i
const MAX_BODY = 64 * 1024

/**
 * Starts a real auth service on 127.0.0.1 (a free port) for tests: the `httpValidator` contract
 * (`POST /validate`), RFC 7662 introspection (`POST /introspect`, Basic or `client_secret_post`),
 * a JWKS (`/jwks`) and discovery documents (`/.well-known/openid-configuration`,
 * `/.well-known/oauth-authorization-server`). Mint tokens with `issue()`, revoke them, switch on
 * faults, and read the request log.
 *
 * @example
 * const auth = await startAuthService()
 * const app = express().use(delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) }))
 * const token = await auth.issue({ scopes: ['items:read'] })
 */
export async function startAuthService(options: AuthServiceOptions = {}): Promise<AuthService> {
  const now = options.now ?? Date.now
  const algorithm = options.algorithm ?? 'ES256'
  const audience = options.audience ?? 'keyward-test-api'
  const client = {
    id: options.clientId ?? 'keyward-test-api',
    secret: options.clientSecret ?? randomBytes(24).toString('base64url'),
  }
  let slowDelay = options.slowDelay ?? 10_000
  const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true })
  const kid = randomBytes(8).toString('hex')
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: algorithm, use: 'sig' }

  const tokens = new Map<string, IssuedToken>()
  const requests: AuthServiceRequest[] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let fault: AuthServiceFault | undefined
  let refusal: { status: number; headers: Record<string, string> } = { status: 401, headers: {} }
  let base = ''

  const digest = (token: string) => createHash('sha256').update(token).digest('hex')
  const seconds = () => Math.floor(now() / 1000)
  const lookup = (token: string | undefined) => {
    const issued = token === undefined ? undefined : tokens.get(digest(token))
    if (issued === undefined || issued.revoked || issued.exp <= seconds()) return undefined
    return issued
  }
  const describe = (issued: IssuedToken) => ({
    ...issued.claims,
    sub: issued.subject,
    scope: issued.scopes.join(' ') || undefined,
    exp: issued.exp,
    iat: issued.iat,
    iss: base,
    aud: audience,
    client_id: client.id,
    token_type: 'Bearer',
  })

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    res.end(text)
  }

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string, path: string) => {
    if (req.method === 'POST' && path === '/validate') {
      const match = TOKEN68.exec(req.headers.authorization ?? '')
      if (!match) {
        send(
          res,
          401,
          { valid: false, active: false, error: 'invalid_request' },
          { 'www-authenticate': 'Bearer realm="keyward-test"' },
        )
        return
      }
      const issued = lookup(match[1])
      if (!issued || !fromAllowedAddress(issued, raw)) {
        if (refusal.status !== 401) {
          send(res, refusal.status, { error: 'invalid_token' }, refusal.headers)
          return
        }
        send(
          res,
          401,
          { valid: false, active: false, error: 'invalid_token' },
          {
            'www-authenticate': 'Bearer realm="keyward-test", error="invalid_token"',
          },
        )
        return
      }
      send(res, 200, { valid: true, active: true, ...describe(issued) })
      return
    }
    if (req.method === 'POST' && path === '/introspect') {
      const form = new URLSearchParams(raw)
      if (!clientAuthenticated(req, form)) {
        send(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="keyward-test"' })
        return
      }
      const token = form.get('token')
      if (!token) {
        send(res, 400, { error: 'invalid_request', error_description: 'token is required' })
        return
      }
      const issued = lookup(token)
      send(res, 200, issued ? { active: true, ...describe(issued) } : { active: false })
      return
    }
    if (req.method === 'GET' && path === '/jwks') {
      send(res, 200, { keys: [publicJwk] })
      return
    }
    if (
      req.method === 'GET' &&
      (path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server')
    ) {
      send(res, 200, {
        issuer: base,
        jwks_uri: `${base}/jwks`,
        introspection_endpoint: `${base}/introspect`,
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        token_endpoint: `${base}/token`,
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [algorithm],
      })
      return
    }
    send(res, 404, { error: 'not_found' })
  }

  const clientAuthenticated = (req: IncomingMessage, form: URLSearchParams): boolean => {
    let id: string | null = null
    let secret: string | null = null
    const basic = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(req.headers.authorization ?? '')
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon < 0) return false
      id = formDecode(decoded.slice(0, colon))
      secret = formDecode(decoded.slice(colon + 1))
    } else {
      id = form.get('client_id')
      secret = form.get('client_secret')
    }
    if (id === null || secret === null) return false
    return sameText(id, client.id) && sameText(secret, client.secret)
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY) chunks.push(chunk)
    })
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      requests.push(logEntry(req, path, raw))
      const current = fault
      if (current === 'reset' || current === 'down') {
        req.socket.resetAndDestroy()
        return
      }
      if (current === 'error') {
        send(res, 500, { error: 'server_error' })
        return
      }
      if (current === 'malformed') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"valid": tru')
        return
      }
      if (current === 'slow') {
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!res.destroyed) handle(req, res, raw, path)
        }, slowDelay)
        timers.add(timer)
        return
      }
      handle(req, res, raw, path)
    })
  })
  server.keepAliveTimeout = 5000
  server.on('connection', (socket) => {
    if (fault === 'down') {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  base = `http://127.0.0.1:${port}`

  return {
    url: base,
    validateUrl: `${base}/validate`,
    introspectionUrl: `${base}/introspect`,
    jwksUri: `${base}/jwks`,
    issuer: base,
    audience,
    client,
    requests,
    async issue(issue: IssueOptions = {}) {
      const format = issue.format ?? 'opaque'
      if (format !== 'opaque' && format !== 'jwt')
        throw new TypeError(`issue: "format" must be 'opaque' or 'jwt'`)
      const expiresIn = issue.expiresIn ?? 3600
      if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn))
        throw new TypeError('issue: "expiresIn" must be a number of seconds')
      const iat = seconds()
      const issued: IssuedToken = {
        subject: issue.subject ?? 'user-1',
        scopes: [...(issue.scopes ?? [])],
        iat,
        exp: iat + Math.round(expiresIn),
        format,
        claims: { ...issue.claims },
        revoked: false,
        clientIps: issue.clientIps === undefined ? undefined : [...issue.clientIps],
      }
      let token: string
      if (format === 'opaque') {
        token = `kwt_${randomBytes(32).toString('base64url')}`
      } else {
        token = await new SignJWT({
          ...issued.claims,
          client_id: client.id,
          ...(issued.scopes.length > 0 ? { scope: issued.scopes.join(' ') } : {}),
        })
          .setProtectedHeader({ alg: algorithm, kid, typ: 'at+jwt' })
          .setIssuer(base)
          .setAudience(audience)
          .setSubject(issued.subject)
          .setIssuedAt(iat)
          .setExpirationTime(issued.exp)
          .setJti(randomBytes(12).toString('base64url'))
          .sign(privateKey)
      }
      tokens.set(digest(token), issued)
      return token
    },
    refuseWith(status: number, headers: Record<string, string> = {}) {
      if (!Number.isInteger(status) || status < 400 || status > 599)
        throw new TypeError('refuseWith: "status" must be a 4xx or 5xx status')
      refusal = { status, headers: { ...headers } }
    },
    revoke(token: string) {
      const issued = tokens.get(digest(token))
      if (issued) issued.revoked = true
    },
    fault(mode: AuthServiceFault | undefined, faultOptions: { delay?: number } = {}) {
      if (mode !== undefined && !['down', 'slow', 'error', 'malformed', 'reset'].includes(mode)) {
        throw new TypeError(
          `fault: unknown mode ${JSON.stringify(mode)}; use down, slow, error, malformed, reset or undefined`,
        )
      }
      if (faultOptions.delay !== undefined) slowDelay = faultOptions.delay
      fault = mode
      if (mode === 'down') for (const socket of sockets) socket.destroy()
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

function logEntry(req: IncomingMessage, path: string, raw: string): AuthServiceRequest {
  const entry: AuthServiceRequest = {
    method: req.method ?? 'GET',
    path,
    authorization: req.headers.authorization !== undefined,
    bodyKeys: [],
  }
  const bearer = TOKEN68.exec(req.headers.authorization ?? '')
  if (bearer) entry.tokenFingerprint = fingerprint(bearer[1]!)
  const type = req.headers['content-type'] ?? ''
  if (raw !== '' && type.includes('json')) {
    try {
      const body = JSON.parse(raw) as unknown
      if (typeof body === 'object' && body !== null && !Array.isArray(body))
        entry.bodyKeys = Object.keys(body)
    } catch {
      // not JSON after all: the keys stay unknown
    }
  } else if (raw !== '' && type.includes('x-www-form-urlencoded')) {
    const form = new URLSearchParams(raw)
    entry.bodyKeys = [...new Set(form.keys())]
    const token = form.get('token')
    if (token) entry.tokenFingerprint = fingerprint(token)
  }
  return entry
}

function fromAllowedAddress(issued: IssuedToken, raw: string): boolean {
  if (issued.clientIps === undefined) return true
  try {
    const body = JSON.parse(raw) as { client_ip?: unknown } | null
    return typeof body?.client_ip === 'string' && issued.clientIps.includes(body.client_ip)
  } catch {
    return false
  }
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return value
  }
}

function sameText(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest()
  const right = createHash('sha256').update(b).digest()
  return timingSafeEqual(left, right)
}

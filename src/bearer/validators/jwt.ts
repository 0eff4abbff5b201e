import { createPublicKey, type JsonWebKey, KeyObject } from 'node:crypto'
import {
  type CryptoKey,
  createRemoteJWKSet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import { KeywardError } from '../../core/errors.js'
import { foreignErrorName as errorName } from '../../core/foreign-error.js'
import { optionNames, positiveNumber, refuseUnknownOptions } from '../../core/options.js'
import { dateFrom, isObject, scopesFrom } from './answer-fields.js'
import { markUnsent, unavailable } from './http-failures.js'
import { ownValidator } from './own-validator.js'
import { readinessFloor } from './readiness-floor.js'
import { safeUrl } from './service-url.js'
import type { InactiveReason, TokenResult, TokenValidator } from './types.js'

const NAME = 'jwtValidator'

/** Asymmetric JWS algorithms accepted with `jwksUri`, `key` or discovery. */
const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]
/** HMAC algorithms accepted with `secret`. */
const SYMMETRIC = ['HS256', 'HS384', 'HS512']

export interface JwtValidatorOptions {
  /**
   * The expected `iss`, exactly. With neither `jwksUri`, `key` nor `secret`, the JWKS URL is read
   * from the issuer's metadata: `/.well-known/openid-configuration`, else RFC 8414's
   * `/.well-known/oauth-authorization-server`.
   */
  issuer: string
  /**
   * The audience(s) this API accepts (`aud`). Required: without it a token minted for any other
   * API of the same issuer would be accepted here.
   */
  audience: string | readonly string[]
  /** Where the signing keys are published (JWKS). Fetched lazily and cached by jose. */
  jwksUri?: string | URL
  /** One public key: a `KeyObject`, a `CryptoKey`, a public JWK, or a PEM (SPKI or certificate). */
  key?: KeyObject | CryptoKey | JWK | string
  /** A shared HMAC secret (HS256/384/512), at least 32 bytes. */
  secret?: string | Uint8Array
  /**
   * Accepted `alg` values. Default: what the key can do — with `key`, exactly the algorithms
   * of its type and curve (a P-256 key: ES256), so a token naming another is a plain 401;
   * the HMAC family with `secret`; the asymmetric families with a JWKS. `none` is never
   * accepted, HMAC and asymmetric algorithms are never mixed (that mix lets a public key be used
   * as an HMAC secret), and with `key` an algorithm the key cannot do is refused here.
   */
  algorithms?: readonly string[]
  /** Allowed clock skew for `exp`/`nbf`/`iat`, in seconds. Default 5. */
  clockTolerance?: number
  /** Claims that must be present. Default `['exp']`: a token that never expires is refused. */
  requiredClaims?: readonly string[]
  /** Required `typ` header, e.g. `'at+jwt'` for RFC 9068 access tokens. Default: not checked. */
  typ?: string
  /** Longest wait for the discovery document and the JWKS, ms. Default 5000. */
  timeout?: number
  /** How long a fetched JWKS is used before it is fetched again, ms. Default 600 000. */
  cacheMaxAge?: number
}

const OPTION_NAMES = optionNames<JwtValidatorOptions>()(
  'issuer',
  'audience',
  'jwksUri',
  'key',
  'secret',
  'algorithms',
  'clockTolerance',
  'requiredClaims',
  'typ',
  'timeout',
  'cacheMaxAge',
)

/**
 * Validates JWT access tokens locally with jose: signature (JWKS, key or secret), `iss`, `aud`,
 * `exp`/`nbf` with `clockTolerance`, required claims and the allowed algorithms. A bad
 * signature, expiry or audience is 401; a JWKS or discovery document that cannot be fetched is
 * 503 (cannot decide), never 401.
 */
export function jwtValidator(options: JwtValidatorOptions): TokenValidator {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${NAME}: pass an options object such as { issuer, audience }`)
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const issuer = options.issuer
  if (typeof issuer !== 'string' || issuer === '')
    throw new TypeError(`${NAME}: "issuer" must be a non-empty string`)
  const audience = typeof options.audience === 'string' ? [options.audience] : options.audience
  if (
    !Array.isArray(audience) ||
    audience.length === 0 ||
    !audience.every((a) => typeof a === 'string' && a !== '')
  ) {
    throw new TypeError(
      `${NAME}: "audience" must be a non-empty string or array of strings (the API's identifier)`,
    )
  }
  const sources = (['jwksUri', 'key', 'secret'] as const).filter((name) => options[name] !== undefined)
  if (sources.length > 1)
    throw new TypeError(`${NAME}: give one of "jwksUri", "key" or "secret", not ${sources.join(' and ')}`)
  const symmetric = options.secret !== undefined
  const configuredKey = options.key === undefined ? undefined : publicKey(options.key)
  const algorithms = algorithmsOption(
    options.algorithms,
    symmetric,
    configuredKey === undefined ? undefined : algorithmsOfKey(configuredKey),
  )
  const clockTolerance = options.clockTolerance ?? 5
  if (typeof clockTolerance !== 'number' || !Number.isFinite(clockTolerance) || clockTolerance < 0) {
    throw new TypeError(`${NAME}: "clockTolerance" must be a non-negative number of seconds`)
  }
  const requiredClaims = options.requiredClaims ?? ['exp']
  if (!Array.isArray(requiredClaims) || !requiredClaims.every((claim) => typeof claim === 'string')) {
    throw new TypeError(`${NAME}: "requiredClaims" must be an array of claim names`)
  }
  if (options.typ !== undefined && (typeof options.typ !== 'string' || options.typ === '')) {
    throw new TypeError(`${NAME}: "typ" must be a non-empty string`)
  }
  const timeout = positiveNumber(options.timeout ?? 5000, 'timeout', NAME)
  const cacheMaxAge = positiveNumber(options.cacheMaxAge ?? 600_000, 'cacheMaxAge', NAME)

  const keys = keySource(options, issuer, timeout, cacheMaxAge, configuredKey)
  const verifyOptions = {
    issuer,
    audience: [...audience],
    algorithms,
    clockTolerance,
    requiredClaims: [...requiredClaims],
    ...(options.typ === undefined ? {} : { typ: options.typ }),
  }

  const verify = async (token: string): Promise<JWTPayload> => {
    try {
      return (await jwtVerify(token, keys.getKey, verifyOptions)).payload
    } catch (error) {
      // a token without "kid" while the JWKS has several keys for its alg (a rotation): each
      // candidate is tried, as jose leaves to its caller
      if ((error as { code?: unknown })?.code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error
      const candidates = error as unknown as AsyncIterable<CryptoKey | KeyObject | Uint8Array>
      let last: unknown = error
      for await (const candidate of candidates) {
        try {
          return (await jwtVerify(token, candidate, verifyOptions)).payload
        } catch (next) {
          last = next
        }
      }
      throw last
    }
  }

  const validate = async (token: string): Promise<TokenResult> => {
    let payload: JWTPayload
    try {
      payload = await verify(token)
    } catch (error) {
      if (error instanceof KeyUnavailable) throw error.failure
      return { active: false, reason: inactiveReason(error) }
    }
    const scopes = scopesFrom(payload.scope, payload.scp)
    // the moment this validator stops accepting the token, tolerance included, so the guard's
    // cache and expiry check agree with jwtVerify
    const expiresAt = typeof payload.exp === 'number' ? dateFrom(payload.exp + clockTolerance) : undefined
    return {
      active: true,
      claims: payload as Record<string, unknown>,
      ...(typeof payload.sub === 'string' ? { subject: payload.sub } : {}),
      ...(scopes === undefined ? {} : { scopes }),
      ...(expiresAt === undefined ? {} : { expiresAt }),
    }
  }

  ownValidator(validate)
  return Object.assign(validate, { ready: keys.ready })
}

/** Thrown from the key lookup so a JWKS outage is told apart from a bad token. */
class KeyUnavailable extends Error {
  override readonly name = 'KeyUnavailable'
  constructor(readonly failure: KeywardError) {
    super(failure.message)
  }
}

interface KeySource {
  getKey: JWTVerifyGetKey | KeyObject | CryptoKey | Uint8Array
  ready(): Promise<void>
}

function keySource(
  options: JwtValidatorOptions,
  issuer: string,
  timeout: number,
  cacheMaxAge: number,
  configuredKey: KeyObject | CryptoKey | undefined,
): KeySource {
  if (options.secret !== undefined) {
    const secret =
      typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret
    if (!(secret instanceof Uint8Array) || secret.length < 32) {
      throw new TypeError(
        `${NAME}: "secret" must be at least 32 bytes (RFC 7518 §3.2); got ${secret.length ?? 0}`,
      )
    }
    return { getKey: secret, ready: async () => {} }
  }
  if (configuredKey !== undefined) return { getKey: configuredKey, ready: async () => {} }
  if (options.jwksUri !== undefined) {
    let url: URL
    try {
      url = new URL(String(options.jwksUri))
    } catch {
      throw new TypeError(`${NAME}: "jwksUri" must be an absolute http(s) URL`)
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new TypeError(`${NAME}: "jwksUri" must be an http(s) URL`)
    const remote = createRemoteJWKSet(url, { timeoutDuration: timeout, cacheMaxAge })
    // keys fetched within cacheMaxAge prove the JWKS is there: no reload per health probe
    const floor = readinessFloor(() => remote.fresh)
    return {
      getKey: remoteKeys(async () => remote, url),
      // keys fetched within cacheMaxAge prove the JWKS is there: no reload per health probe
      ready: () =>
        floor(url.href, async () => {
          try {
            await remote.reload()
          } catch (error) {
            throw jwksFailure(error, url)
          }
        }),
    }
  }
  // discovery: the issuer's metadata names its JWKS; fetched once, retried after a failure
  let discovered: Promise<{ remote: ReturnType<typeof createRemoteJWKSet>; url: URL }> | undefined
  let freshRemote: ReturnType<typeof createRemoteJWKSet> | undefined
  const discover = () => {
    discovered ??= discoverJwksUri(issuer, timeout).then((url) => {
      freshRemote = createRemoteJWKSet(url, { timeoutDuration: timeout, cacheMaxAge })
      return { remote: freshRemote, url }
    })
    discovered.catch(() => {
      discovered = undefined
    })
    return discovered
  }
  const issuerUrl = new URL(issuer)
  const discoveryFloor = readinessFloor(() => freshRemote?.fresh === true)
  return {
    getKey: remoteKeys(async () => {
      try {
        return (await discover()).remote
      } catch (error) {
        throw new KeyUnavailable(jwksFailure(error, issuerUrl))
      }
    }, issuerUrl),
    ready: () =>
      discoveryFloor(issuer, async () => {
        const { remote, url } = await discover()
        if (remote.fresh) return
        try {
          await remote.reload()
        } catch (error) {
          throw jwksFailure(error, url)
        }
      }),
  }
}

function remoteKeys(load: () => Promise<ReturnType<typeof createRemoteJWKSet>>, url: URL): JWTVerifyGetKey {
  return async (header, token) => {
    const remote = await load()
    try {
      return await remote(header, token)
    } catch (error) {
      // what the token's header chose: no key with its kid (after a refetch), several keys
      // (no kid), an alg a JWKS cannot serve — each is about the token (401), not the JWKS
      if (TOKEN_KEY_SELECTION.has((error as { code?: unknown })?.code as string)) throw error
      throw new KeyUnavailable(jwksFailure(error, url))
    }
  }
}

const TOKEN_KEY_SELECTION = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
])

/**
 * A JWKS or discovery fetch that failed. The fetch does not carry the token, so whatever went
 * wrong is the issuer's (or the network's) doing: the breaker may take it as an outage.
 */
function jwksFailure(error: unknown, url: URL): KeywardError {
  if (KeywardError.is(error)) return markUnsent(error)
  const code = (error as { code?: unknown })?.code
  if (code === 'ERR_JWKS_TIMEOUT') {
    return markUnsent(
      unavailable('validator_timeout', `${NAME}: ${safeUrl(url)} did not answer in time`, error),
    )
  }
  if (typeof code === 'string' && code.startsWith('ERR_J')) {
    // jose's class and code (JWKSInvalid, JWKInvalid, a non-200 answer) say enough
    return markUnsent(
      unavailable('validator_bad_response', `${NAME}: ${safeUrl(url)} (${errorName(error)})`, error),
    )
  }
  return markUnsent(
    unavailable('validator_failed', `${NAME}: could not fetch ${safeUrl(url)} (${errorName(error)})`, error),
  )
}

async function discoverJwksUri(issuer: string, timeout: number): Promise<URL> {
  const base = new URL(issuer)
  const path = base.pathname === '/' ? '' : base.pathname.replace(/\/$/, '')
  const candidates = [
    new URL(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`),
    new URL(`${base.origin}/.well-known/oauth-authorization-server${path}`),
  ]
  for (const url of candidates) {
    let response: Response
    try {
      response = await fetch(url, {
        signal: AbortSignal.timeout(timeout),
        redirect: 'error',
        headers: { accept: 'application/json' },
      })
    } catch (error) {
      if ((error as Error)?.name === 'TimeoutError') {
        throw unavailable('validator_timeout', `${NAME}: ${safeUrl(url)} did not answer in time`, error)
      }
      throw unavailable(
        'validator_failed',
        `${NAME}: could not fetch ${safeUrl(url)} (${errorName(error)})`,
        error,
      )
    }
    if (response.status === 404) {
      await response.body?.cancel()
      continue
    }
    if (response.status !== 200) {
      await response.body?.cancel()
      throw unavailable(
        response.status >= 500 ? 'validator_failed' : 'validator_bad_response',
        `${NAME}: ${safeUrl(url)} answered ${response.status}`,
      )
    }
    let doc: unknown
    try {
      doc = await response.json()
    } catch (error) {
      throw unavailable('validator_bad_response', `${NAME}: ${safeUrl(url)} is not JSON`, error)
    }
    if (!isObject(doc) || doc.issuer !== issuer) {
      // RFC 8414 §3.3 / OpenID Discovery §4.3: metadata for another issuer must not be used
      throw unavailable(
        'validator_bad_response',
        `${NAME}: ${safeUrl(url)} describes another issuer than "${issuer}"`,
      )
    }
    if (typeof doc.jwks_uri !== 'string') {
      throw unavailable('validator_bad_response', `${NAME}: ${safeUrl(url)} has no "jwks_uri"`)
    }
    try {
      return new URL(doc.jwks_uri)
    } catch (error) {
      throw unavailable('validator_bad_response', `${NAME}: ${safeUrl(url)} has an invalid "jwks_uri"`, error)
    }
  }
  throw unavailable(
    'validator_bad_response',
    `${NAME}: ${issuer} publishes no discovery document; pass "jwksUri"`,
  )
}

/**
 * Why jose refused a token. Everything jwtVerify throws once the keys are at hand is about the
 * token: the JOSE classes below by their codes, and anything else (the TypeError or DataError
 * WebCrypto raises when a header names an algorithm the key cannot do) as a bad signature. The
 * JOSE classes that are about the JWKS — JWKSInvalid, JWKInvalid, JWKSTimeout, a non-200 answer —
 * only come out of the key lookup, which turns them into KeyUnavailable (503) first.
 *
 * - JWTExpired: token_expired
 * - JWTClaimValidationFailed: token_claim_invalid (iss, aud, nbf, required claims, typ)
 * - JWSSignatureVerificationFailed, JOSEAlgNotAllowed, JWKSNoMatchingKey,
 *   JWKSMultipleMatchingKeys (no candidate verified): token_signature_invalid
 * - JWSInvalid, JWTInvalid, JOSENotSupported (crit, b64, an unknown alg), JWEInvalid,
 *   JWEDecryptionFailed, JOSEError: token_malformed
 */
function inactiveReason(error: unknown): InactiveReason {
  switch ((error as { code?: unknown })?.code) {
    case 'ERR_JWT_EXPIRED':
      return 'token_expired'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return 'token_claim_invalid'
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'token_signature_invalid'
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWE_INVALID':
    case 'ERR_JWE_DECRYPTION_FAILED':
    case 'ERR_JOSE_GENERIC':
      return 'token_malformed'
    default:
      return 'token_signature_invalid'
  }
}

function algorithmsOption(value: unknown, symmetric: boolean, ofKey: string[] | undefined): string[] {
  const allowed = symmetric ? SYMMETRIC : ASYMMETRIC
  if (value === undefined) return [...(ofKey ?? allowed)]
  if (!Array.isArray(value) || value.length === 0)
    throw new TypeError(`${NAME}: "algorithms" must be a non-empty array`)
  for (const alg of value) {
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') {
      throw new TypeError(`${NAME}: "algorithms" may not contain "none": an unsigned token proves nothing`)
    }
    if (!allowed.includes(alg)) {
      throw new TypeError(
        symmetric
          ? `${NAME}: with "secret", "algorithms" may only contain ${SYMMETRIC.join(', ')}; got "${alg}"`
          : `${NAME}: with a public key, "algorithms" may only contain asymmetric algorithms (${ASYMMETRIC.join(', ')}); got "${alg}" — HMAC with a public key lets anyone who has the key sign tokens`,
      )
    }
    if (ofKey !== undefined && !ofKey.includes(alg)) {
      throw new TypeError(
        `${NAME}: "algorithms" contains "${alg}", which "key" cannot verify; this key can do ${ofKey.join(', ')} — leave "algorithms" out to use exactly those`,
      )
    }
  }
  return [...value]
}

const CURVES: Record<string, string> = {
  prime256v1: 'ES256',
  'P-256': 'ES256',
  secp384r1: 'ES384',
  'P-384': 'ES384',
  secp521r1: 'ES512',
  'P-521': 'ES512',
}

/** The JWS algorithms a public key can verify (RFC 7518 §3, RFC 8037), by its type and curve. */
function algorithmsOfKey(key: KeyObject | CryptoKey): string[] {
  if (!(key instanceof KeyObject)) {
    // a CryptoKey is bound to one algorithm (and hash) already
    const algorithm = key.algorithm as { name: string; hash?: { name?: string }; namedCurve?: string }
    const bits = algorithm.hash?.name?.replace('SHA-', '')
    if (algorithm.name === 'RSASSA-PKCS1-v1_5' && bits) return [`RS${bits}`]
    if (algorithm.name === 'RSA-PSS' && bits) return [`PS${bits}`]
    if (algorithm.name === 'ECDSA' && CURVES[algorithm.namedCurve ?? ''])
      return [CURVES[algorithm.namedCurve ?? '']!]
    if (algorithm.name === 'Ed25519') return ['EdDSA', 'Ed25519']
  }
  const object = key instanceof KeyObject ? key : KeyObject.from(key as never)
  const details = object.asymmetricKeyDetails
  switch (object.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512']
    case 'ec': {
      const alg = CURVES[details?.namedCurve ?? '']
      if (alg === undefined)
        throw new TypeError(`${NAME}: "key" is on a curve JWS does not use; use P-256, P-384 or P-521`)
      return [alg]
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519']
    case 'ed448':
      return ['EdDSA']
    default:
      throw new TypeError(`${NAME}: "key" is of a type JWS does not use (${object.asymmetricKeyType})`)
  }
}

function publicKey(key: unknown): KeyObject | CryptoKey {
  let out: KeyObject | CryptoKey
  try {
    if (typeof key === 'string') out = createPublicKey(key)
    else if (isObject(key) && typeof key.kty === 'string')
      out = createPublicKey({ key: key as JsonWebKey, format: 'jwk' })
    else if (isObject(key) && (key as { type?: unknown }).type !== undefined)
      out = key as unknown as KeyObject | CryptoKey
    else throw new TypeError('not a key')
  } catch {
    throw new TypeError(`${NAME}: "key" must be a public key: a KeyObject, CryptoKey, JWK or PEM`)
  }
  if (out.type === 'secret') throw new TypeError(`${NAME}: "key" is a symmetric key; pass it as "secret"`)
  return out
}

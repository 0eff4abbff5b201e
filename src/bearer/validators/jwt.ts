import type { KeyObject } from 'node:crypto'
import { type CryptoKey, type JWK, type JWTPayload, jwtVerify } from 'jose'
import { optionNames, positiveNumber, refuseUnknownOptions } from '../../core/options.js'
import { dateFrom, scopesFrom } from './answer-fields.js'
import { algorithmsOfKey, algorithmsOption, publicKey } from './jwt-algorithms.js'
import { KeyUnavailable, keySource } from './jwt-keys.js'
import { ownValidator } from './own-validator.js'
import type { InactiveReason, TokenResult, TokenValidator } from './types.js'

const NAME = 'jwtValidator'

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

import type { KeyObject } from 'node:crypto'
import { type CryptoKey, createRemoteJWKSet, type JWTVerifyGetKey } from 'jose'
import { KeywardError } from '../../core/errors.js'
import { foreignErrorName as errorName } from '../../core/foreign-error.js'
import { isObject } from './answer-fields.js'
import { markUnsent, unavailable } from './http-failures.js'
import type { JwtValidatorOptions } from './jwt.js'
import { readinessFloor } from './readiness-floor.js'
import { safeUrl } from './service-url.js'

const NAME = 'jwtValidator'

/* Where a JWT validator's keys come from: a secret, one key, a JWKS, or discovery from the issuer. */

export class KeyUnavailable extends Error {
  override readonly name = 'KeyUnavailable'
  constructor(readonly failure: KeywardError) {
    super(failure.message)
  }
}

interface KeySource {
  getKey: JWTVerifyGetKey | KeyObject | CryptoKey | Uint8Array
  ready(): Promise<void>
}

export function keySource(
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

import { createPublicKey, type JsonWebKey, KeyObject } from 'node:crypto'
import type { CryptoKey } from 'jose'
import { isObject } from './answer-fields.js'

const NAME = 'jwtValidator'

/* Which JWS algorithms a validator accepts: what its key can verify, never `none`, never HMAC with a public key. */

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

export function algorithmsOption(value: unknown, symmetric: boolean, ofKey: string[] | undefined): string[] {
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
export function algorithmsOfKey(key: KeyObject | CryptoKey): string[] {
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

export function publicKey(key: unknown): KeyObject | CryptoKey {
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

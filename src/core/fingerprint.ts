import { hash } from 'node:crypto'

/**
 * A short, stable id for a secret: `kw_` and the first 12 hex characters of its SHA-256.
 * Safe to log and to put in events; it identifies a key without revealing any part of it
 * (no prefix or suffix of the key itself ever appears, F6).
 */
export function fingerprint(secret: string | Uint8Array): string {
  return fingerprintOfDigest(sha256(secret))
}

/** The fingerprint of a secret whose SHA-256 is already known: saves hashing it twice. */
export function fingerprintOfDigest(digest: Buffer): string {
  return `kw_${digest.toString('hex', 0, 6)}`
}

/** The SHA-256 of a secret, as a Buffer. Used as cache key and comparison input. */
export function sha256(secret: string | Uint8Array): Buffer {
  // one-shot crypto.hash skips the Hash object: a third faster on the per-request path
  return hash('sha256', secret, 'buffer')
}

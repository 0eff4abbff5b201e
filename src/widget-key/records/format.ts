import { encodeB64 } from './encodings.js'
import { parseHashRecord } from './parse.js'
import type { HashRecord, OutputFormat, Pbkdf2Digest, Sha2Digest } from './types.js'

/** The object layout {@link formatHashRecord} writes for a PBKDF2 record: hex text fields, readable back with default options. */
export interface FormattedPbkdf2Record {
  /** Hex of the derived key. */
  hash: string
  /** Hex of the salt bytes (read back with the default `saltEncoding: 'hex'`). */
  salt: string
  /** The PBKDF2 iteration count. */
  iterations: number
  /** The HMAC digest, always stated so no reader has to assume one. */
  digest: Pbkdf2Digest
}

/** The object layout {@link formatHashRecord} writes for an scrypt record (hex salt and hash). */
export interface FormattedScryptRecord {
  algorithm: 'scrypt'
  /** scrypt's N. */
  N: number
  /** scrypt's r. */
  r: number
  /** scrypt's p. */
  p: number
  /** Hex of the salt bytes (read back with the default `saltEncoding: 'hex'`). */
  salt: string
  /** Hex of the derived key. */
  hash: string
}

/** The object layout {@link formatHashRecord} writes for a sha2 record: the Unkey-style `{ algorithm, hash }`. */
export interface FormattedSha2Record {
  /** The digest, as the family name the reader expects. */
  algorithm: Sha2Digest
  /** Hex of the digest. */
  hash: string
}

/** What {@link formatHashRecord} writes for `'object'`, per family. */
export type FormattedHashRecord = FormattedPbkdf2Record | FormattedScryptRecord | FormattedSha2Record

const PHC_IDENTIFIER: Readonly<Record<Pbkdf2Digest, string>> = {
  // bare "pbkdf2" is SHA-1 in both RustCrypto's PHC strings and passlib
  sha1: 'pbkdf2',
  sha256: 'pbkdf2-sha256',
  sha512: 'pbkdf2-sha512',
}

/**
 * Writes a record for storage, in a layout `parseHashRecord` reads back to the same bytes with
 * default options:
 * - `'object'`: PBKDF2 `{ hash, salt, iterations, digest }`, scrypt `{ algorithm: 'scrypt', N, r,
 *   p, salt, hash }`, sha2 `{ algorithm: 'sha256' | 'sha512', hash }`, with hex `hash` and `salt`
 *   (salt = hex of the salt bytes, so a reader must not take it as text);
 * - `'json'`: the same object as JSON text, for a TEXT column;
 * - `'phc'`: PBKDF2 `$pbkdf2-<digest>$i=N,l=L$salt$hash`, scrypt `$scrypt$ln=L,r=R,p=P$salt$hash`
 *   (passlib's layout, which is also the PHC form RustCrypto writes),
 *   with unpadded base64, which states its encodings and dkLen in itself (the least ambiguous
 *   choice for a new system). sha2 records have no standard PHC form: `'phc'` throws a TypeError.
 *
 * @throws HashRecordError when `record` is not a valid record (e.g. a hash under 16 bytes).
 * @throws TypeError for an unknown format, or `'phc'` of a sha2 record.
 */
export function formatHashRecord(record: HashRecord, format: 'object'): FormattedHashRecord
export function formatHashRecord(record: HashRecord, format: 'json' | 'phc'): string
export function formatHashRecord(record: HashRecord, format: OutputFormat): FormattedHashRecord | string
export function formatHashRecord(record: HashRecord, format: OutputFormat): FormattedHashRecord | string {
  // re-validating means a hand-built record with a short hash or a bad count is never written out
  const valid = parseHashRecord(record)
  switch (format) {
    case 'object':
      return objectForm(valid)
    case 'json':
      return JSON.stringify(objectForm(valid))
    case 'phc':
      return phcForm(valid)
    default:
      throw new TypeError(
        `formatHashRecord: format must be "object", "json" or "phc"; got ${JSON.stringify(format)}`,
      )
  }
}

function phcForm(record: HashRecord): string {
  switch (record.algorithm) {
    case 'pbkdf2':
      return `$${PHC_IDENTIFIER[record.digest]}$i=${record.iterations},l=${record.hash.length}$${encodeB64(record.salt)}$${encodeB64(record.hash)}`
    case 'scrypt':
      return `$scrypt$ln=${Math.log2(record.N)},r=${record.r},p=${record.p}$${encodeB64(record.salt)}$${encodeB64(record.hash)}`
    case 'sha2':
      throw new TypeError(
        'formatHashRecord: sha2 records have no PHC form; write them as "object" or "json" ({ algorithm, hash })',
      )
  }
}

function objectForm(record: HashRecord): FormattedHashRecord {
  switch (record.algorithm) {
    case 'pbkdf2':
      return {
        hash: record.hash.toString('hex'),
        salt: record.salt.toString('hex'),
        iterations: record.iterations,
        digest: record.digest,
      }
    case 'scrypt':
      return {
        algorithm: 'scrypt',
        N: record.N,
        r: record.r,
        p: record.p,
        salt: record.salt.toString('hex'),
        hash: record.hash.toString('hex'),
      }
    case 'sha2':
      return { algorithm: record.digest, hash: record.hash.toString('hex') }
  }
}

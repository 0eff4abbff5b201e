import { encodeB64 } from './encodings.js'
import { parseHashRecord } from './parse.js'
import type { HashRecord, OutputFormat, Pbkdf2Digest } from './types.js'

/** The object layout {@link formatHashRecord} writes: hex text fields, readable back with default options. */
export interface FormattedHashRecord {
  /** Hex of the derived key. */
  hash: string
  /** Hex of the salt bytes (read back with the default `saltEncoding: 'hex'`). */
  salt: string
  /** The PBKDF2 iteration count. */
  iterations: number
  /** The HMAC digest, always stated so no reader has to assume one. */
  digest: Pbkdf2Digest
}

const PHC_IDENTIFIER: Readonly<Record<Pbkdf2Digest, string>> = {
  // bare "pbkdf2" is SHA-1 in both RustCrypto's PHC strings and passlib
  sha1: 'pbkdf2',
  sha256: 'pbkdf2-sha256',
  sha512: 'pbkdf2-sha512',
}

/**
 * Writes a record for storage, in a layout `parseHashRecord` reads back to the same bytes with
 * default options:
 * - `'object'`: `{ hash, salt, iterations, digest }` with hex `hash` and `salt` (salt = hex of
 *   the salt bytes, so a reader must not take it as text);
 * - `'json'`: the same object as JSON text, for a TEXT column;
 * - `'phc'`: `$pbkdf2-<digest>$i=N,l=L$salt$hash` with unpadded base64, which states its
 *   encodings and dkLen in itself (the least ambiguous choice for a new system).
 *
 * @throws HashRecordError when `record` is not a valid record (e.g. a hash under 16 bytes).
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
      return `$${PHC_IDENTIFIER[valid.digest]}$i=${valid.iterations},l=${valid.hash.length}$${encodeB64(valid.salt)}$${encodeB64(valid.hash)}`
    default:
      throw new TypeError(
        `formatHashRecord: format must be "object", "json" or "phc"; got ${JSON.stringify(format)}`,
      )
  }
}

function objectForm(record: HashRecord): FormattedHashRecord {
  return {
    hash: record.hash.toString('hex'),
    salt: record.salt.toString('hex'),
    iterations: record.iterations,
    digest: record.digest,
  }
}

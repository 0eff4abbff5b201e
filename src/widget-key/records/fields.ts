import type { Decoded } from './encodings.js'
import { HashRecordError, type HashRecordField } from './errors.js'
import type { Pbkdf2Digest, Pbkdf2Record, RecordFormat } from './types.js'

/**
 * Shortest stored hash accepted, in bytes. PBKDF2 output is prefix-consistent, so a hash cut to
 * 8 bytes still "matches"; 16 bytes is the floor below which a record is refused rather than
 * trusted (a 64-bit check is too weak, and in practice a short hash is a truncated one).
 */
export const MIN_HASH_BYTES = 16

/** Longest stored hash accepted, in bytes: PBKDF2 cost grows with dkLen, and no real format comes near. */
export const MAX_HASH_BYTES = 1024

/** Longest salt accepted, in bytes (passlib's own limit). */
export const MAX_SALT_BYTES = 1024

/** Highest iteration count accepted: Node's PBKDF2 takes a 32-bit signed count. */
export const MAX_ITERATIONS = 2 ** 31 - 1

/** Output size of each digest: the fixed dkLen of passlib, Django and werkzeug records. */
export const DIGEST_BYTES: Readonly<Record<Pbkdf2Digest, number>> = { sha1: 20, sha256: 32, sha512: 64 }

const DECIMAL = /^[1-9][0-9]*$/

/**
 * A digest name as records spell it (`sha256`, `SHA-256`, `sha_512`), normalised; `undefined`
 * for anything else. Case, dashes and underscores are ignored.
 */
export function normaliseDigest(name: string): Pbkdf2Digest | undefined {
  const compact = name.toLowerCase().replace(/[-_]/g, '')
  return compact === 'sha1' || compact === 'sha256' || compact === 'sha512' ? compact : undefined
}

/** Reads a digest field or throws a HashRecordError naming it. */
export function readDigest(value: unknown, format: RecordFormat): Pbkdf2Digest {
  if (typeof value !== 'string') throw new HashRecordError('digest', 'wrong_type', 'must be a string', format)
  const digest = normaliseDigest(value)
  if (digest === undefined) {
    throw new HashRecordError('digest', 'unsupported', 'is not one of sha1, sha256, sha512', format)
  }
  return digest
}

/**
 * Reads a positive integer count (iterations, dkLen) from a number or a decimal string with no
 * sign, leading zero or fraction; throws a HashRecordError naming `field`.
 */
export function readCount(value: unknown, field: HashRecordField, format: RecordFormat, max: number): number {
  let count: number
  if (typeof value === 'number') {
    count = value
  } else if (typeof value === 'string') {
    if (!DECIMAL.test(value)) {
      throw new HashRecordError(
        field,
        'out_of_range',
        'must be a positive whole number written in decimal',
        format,
      )
    }
    count = Number(value)
  } else {
    throw new HashRecordError(field, 'wrong_type', 'must be a number', format)
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new HashRecordError(field, 'out_of_range', 'must be a positive integer', format)
  }
  if (count > max) throw new HashRecordError(field, 'out_of_range', `must be at most ${max}`, format)
  return count
}

/** The bytes of a decoded field, or a HashRecordError naming the field and what was wrong. */
export function decodedOrThrow(decoded: Decoded, field: 'hash' | 'salt', format: RecordFormat): Buffer {
  if (decoded.ok) return decoded.bytes
  throw new HashRecordError(field, decoded.problem, decoded.description, format)
}

/**
 * Refuses a hash whose length differs from what the format fixes: `truncated` when shorter (a
 * column too narrow, a copy cut short), `wrong_length` when longer.
 */
export function requireHashLength(
  hash: Buffer,
  expected: number,
  field: 'hash' | 'dklen',
  why: string,
  format: RecordFormat,
): void {
  if (hash.length === expected) return
  const problem = hash.length < expected ? 'truncated' : 'wrong_length'
  const prefix =
    field === 'dklen' ? `${why}, but the hash is ${hash.length} bytes` : `is ${hash.length} bytes, but ${why}`
  throw new HashRecordError(
    field,
    problem,
    `${prefix}${problem === 'truncated' ? ' (truncated?)' : ''}`,
    format,
  )
}

/** The salt and hash size checks every salted family shares (PBKDF2, scrypt). */
export function checkSaltAndHash(salt: Buffer, hash: Buffer, format: RecordFormat): void {
  if (salt.length === 0) throw new HashRecordError('salt', 'empty', 'is empty', format)
  if (salt.length > MAX_SALT_BYTES) {
    throw new HashRecordError(
      'salt',
      'too_long',
      `is ${salt.length} bytes, more than ${MAX_SALT_BYTES}`,
      format,
    )
  }
  if (hash.length < MIN_HASH_BYTES) {
    throw new HashRecordError(
      'hash',
      'too_short',
      `is ${hash.length} bytes; hashes under ${MIN_HASH_BYTES} bytes are refused (too weak, and usually truncated)`,
      format,
    )
  }
  if (hash.length > MAX_HASH_BYTES) {
    throw new HashRecordError(
      'hash',
      'too_long',
      `is ${hash.length} bytes, more than ${MAX_HASH_BYTES}`,
      format,
    )
  }
}

/** Assembles a record after the checks every format shares (salt and hash sizes). */
export function buildRecord(
  digest: Pbkdf2Digest,
  iterations: number,
  salt: Buffer,
  hash: Buffer,
  format: RecordFormat,
): Pbkdf2Record {
  checkSaltAndHash(salt, hash, format)
  return { algorithm: 'pbkdf2', digest, iterations, salt, hash }
}

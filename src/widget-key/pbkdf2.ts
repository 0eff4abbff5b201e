import { createHash, pbkdf2, randomBytes, scrypt } from 'node:crypto'
import { equalBytes } from '../core/compare.js'
import { DIGEST_BYTES, MAX_ITERATIONS } from './records/fields.js'
import { parseHashRecord } from './records/parse.js'
import { scryptMaxmem } from './records/scrypt.js'
import type {
  HashRecord,
  HashRecordInput,
  ParseOptions,
  Pbkdf2Digest,
  Pbkdf2Record,
} from './records/types.js'

/**
 * Computes what `record.hash` must equal if `key` is the key it was made from, per the record's
 * family: PBKDF2 with its digest, count and salt, or scrypt with its N, r, p and salt, both to the
 * record's dkLen (`record.hash.length`) and asynchronous on libuv's thread pool (a 600,000-iteration
 * PBKDF2 or werkzeug's default scrypt takes a good fraction of a second, which must never block
 * the event loop); or, for sha2, the digest of the key (microseconds, so computed in place).
 * Every family answers through this one promise so the callers' limiter, coalescing and caches
 * treat them alike. The password is the key's UTF-8 bytes exactly as given — no trimming, no
 * case folding.
 */
export function derive(key: string, record: HashRecord): Promise<Buffer> {
  switch (record.algorithm) {
    case 'pbkdf2':
      return new Promise((resolve, reject) => {
        pbkdf2(key, record.salt, record.iterations, record.hash.length, record.digest, (error, derived) => {
          if (error) reject(error)
          else resolve(derived)
        })
      })
    case 'scrypt':
      return new Promise((resolve, reject) => {
        // parameters were bounded when the record was parsed, so maxmem is at most ~257 MiB
        const { N, r, p } = record
        scrypt(
          key,
          record.salt,
          record.hash.length,
          { N, r, p, maxmem: scryptMaxmem(record) },
          (error, derived) => {
            if (error) reject(error)
            else resolve(derived)
          },
        )
      })
    case 'sha2':
      return Promise.resolve(createHash(record.digest).update(key, 'utf8').digest())
  }
}

/**
 * Whether `key` is the key a hash record (PBKDF2, scrypt or sha2) was made from. The record may be in any layout
 * `parseHashRecord` reads (or already parsed); `options` say how an object record's salt and hash
 * text are encoded.
 *
 * An empty key is never a credential: it answers `false` before any parsing or hashing, even
 * against a record that is a valid hash of `""` (what an admin API writes when it hashed an
 * unset variable). The derived bytes are compared in constant time.
 *
 * @throws HashRecordError (as a rejection) when the record is invalid — a data fault, not a "no".
 */
export async function verifyKeyAgainstRecord(
  key: string,
  record: HashRecordInput | HashRecord,
  options?: ParseOptions,
): Promise<boolean> {
  if (typeof key !== 'string' || key.length === 0) return false
  const parsed = parseHashRecord(record, options)
  const derived = await derive(key, parsed)
  return equalBytes(derived, parsed.hash)
}

/** Options of {@link hashWidgetKey}. */
export interface HashWidgetKeyOptions {
  /**
   * PBKDF2 iteration count. Default 600,000: OWASP's 2023 figure for PBKDF2-HMAC-SHA256 (also
   * Django 4.2's). Each verification costs this much once per cache miss; lower it only for tests.
   */
  iterations?: number
  /** HMAC digest. Default `'sha256'`. The hash is the digest's size (32 bytes for SHA-256). */
  digest?: Pbkdf2Digest
  /** Random salt length in bytes. Default 16 (128 bits, NIST SP 800-132's minimum); at least 16. */
  saltBytes?: number
}

/**
 * Hashes a key into a new PBKDF2 record with a fresh random salt: the writing side of
 * `verifyKeyAgainstRecord`. Store it with `formatHashRecord`, whose layouts read back exactly.
 *
 * @throws TypeError for an empty key or invalid options (the message never contains the key).
 */
export async function hashWidgetKey(key: string, options: HashWidgetKeyOptions = {}): Promise<Pbkdf2Record> {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError('hashWidgetKey: the key must be a non-empty string')
  }
  const { iterations = 600_000, digest = 'sha256', saltBytes = 16 } = options
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new TypeError(
      `hashWidgetKey: "iterations" must be a positive integer up to ${MAX_ITERATIONS}; got ${String(iterations)}`,
    )
  }
  if (digest !== 'sha1' && digest !== 'sha256' && digest !== 'sha512') {
    throw new TypeError(
      `hashWidgetKey: "digest" must be "sha1", "sha256" or "sha512"; got ${JSON.stringify(digest)}`,
    )
  }
  if (!Number.isInteger(saltBytes) || saltBytes < 16 || saltBytes > 1024) {
    throw new TypeError(
      `hashWidgetKey: "saltBytes" must be an integer from 16 to 1024; got ${String(saltBytes)}`,
    )
  }
  const salt = randomBytes(saltBytes)
  const hash = await derive(key, {
    algorithm: 'pbkdf2',
    digest,
    iterations,
    salt,
    hash: Buffer.alloc(DIGEST_BYTES[digest]),
  })
  return { algorithm: 'pbkdf2', digest, iterations, salt, hash }
}

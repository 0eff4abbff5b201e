import { decodeBase64, decodeHex, detectHashEncoding, encodeUtf8 } from './encodings.js'
import { HashRecordError } from './errors.js'
import {
  buildRecord,
  decodedOrThrow,
  MAX_HASH_BYTES,
  MAX_ITERATIONS,
  readCount,
  readDigest,
  requireHashLength,
} from './fields.js'
import { buildScryptRecord, readScryptParameters } from './scrypt.js'
import { buildSha2Record, normaliseSha2Digest } from './sha2.js'
import type { HashEncoding, ParseOptions, Pbkdf2Digest, RecordInspection, SaltEncoding } from './types.js'

type ObjectFormat = 'object' | 'json-string'

/**
 * Reads an object record `{ hash, salt, iter | iterations, digest | alg?, dklen? }` — the shape
 * admin APIs write, e.g. Python's `{"hash": hex, "salt": hex, "iter": n}`. Unknown fields are
 * ignored, so a whole database row can be passed.
 *
 * The salt's interpretation cannot be seen in the record (`"7042de08…"` is 16 hex bytes or 32
 * UTF-8 bytes alike), so it comes from `options.saltEncoding`, default hex. The hash encoding
 * is detected unless given. dkLen is the decoded hash length.
 */
export function parseObjectRecord(
  value: object,
  options: ParseOptions = {},
  format: ObjectFormat = 'object',
): RecordInspection {
  if (Array.isArray(value))
    throw new HashRecordError('format', 'unrecognised', 'is an array, not a record object', format)
  const fields = value as Record<string, unknown>

  const algorithm = fields.algorithm
  if (algorithm !== undefined && typeof algorithm !== 'string') {
    throw new HashRecordError('format', 'wrong_type', 'names its algorithm with a non-string', format)
  }
  const family = algorithm?.toLowerCase()
  if (family === 'scrypt') return parseScryptObject(fields, options, format)
  if (family === 'sha2') return parseSha2Object(fields, fields.digest, options, format)
  if (family !== undefined && normaliseSha2Digest(family) !== undefined) {
    return parseSha2Object(fields, family, options, format)
  }
  if (family !== undefined && family !== 'pbkdf2') {
    throw new HashRecordError(
      'format',
      'unsupported',
      'names an algorithm other than pbkdf2, scrypt, sha256 or sha512',
      format,
    )
  }

  const { bytes: hash, reading: hashReading } = readHash(fields.hash, options.hashEncoding, format)
  const { bytes: salt, reading: saltReading } = readSalt(fields.salt, options.saltEncoding ?? 'hex', format)
  const iterations = readIterations(fields, format)
  const stated = readStatedDigest(fields, format)
  const digest: Pbkdf2Digest = stated ?? 'sha256'

  const dklen = fields.dklen ?? fields.dkLen
  if (
    fields.dklen !== undefined &&
    fields.dkLen !== undefined &&
    String(fields.dklen) !== String(fields.dkLen)
  ) {
    throw new HashRecordError(
      'dklen',
      'conflict',
      'is given twice (dklen and dkLen) with different values',
      format,
    )
  }
  if (dklen !== undefined) {
    const expected = readCount(dklen, 'dklen', format, MAX_HASH_BYTES)
    requireHashLength(hash, expected, 'dklen', `states ${expected} bytes`, format)
  }

  return {
    record: buildRecord(digest, iterations, salt, hash, format),
    format,
    saltReading,
    hashReading,
    digestStated: stated !== undefined,
  }
}

/**
 * `{ algorithm: 'scrypt', N | n, r, p, salt, hash }`: salt and hash read as for PBKDF2 object
 * records (salt per `saltEncoding`, hash detected or per `hashEncoding`); dkLen is the hash length.
 */
function parseScryptObject(
  fields: Record<string, unknown>,
  options: ParseOptions,
  format: ObjectFormat,
): RecordInspection {
  const { N, n } = fields
  if (N !== undefined && n !== undefined && String(N) !== String(n)) {
    throw new HashRecordError('N', 'conflict', 'is given twice (N and n) with different values', format)
  }
  const parameters = readScryptParameters({ N: N ?? n, r: fields.r, p: fields.p }, format)
  const { bytes: hash, reading: hashReading } = readHash(fields.hash, options.hashEncoding, format)
  const { bytes: salt, reading: saltReading } = readSalt(fields.salt, options.saltEncoding ?? 'hex', format)
  return {
    record: buildScryptRecord(parameters, salt, hash, format),
    format,
    saltReading,
    hashReading,
    digestStated: true,
  }
}

/**
 * `{ algorithm: 'sha256' | 'sha512', hash }` (and a parsed `{ algorithm: 'sha2', digest, hash }`):
 * the digest of the whole key, hex or base64 per `hashEncoding` (detected when not given). A salt
 * is refused rather than ignored: a salted digest's construction is not in the record.
 */
function parseSha2Object(
  fields: Record<string, unknown>,
  named: unknown,
  options: ParseOptions,
  format: ObjectFormat,
): RecordInspection {
  if (typeof named !== 'string') {
    throw new HashRecordError(
      'digest',
      named === undefined ? 'missing' : 'wrong_type',
      'must be sha256 or sha512',
      format,
    )
  }
  const digest = normaliseSha2Digest(named)
  if (digest === undefined)
    throw new HashRecordError('digest', 'unsupported', 'is not sha256 or sha512', format)
  const stated = fields.digest
  if (
    stated !== undefined &&
    stated !== null &&
    (typeof stated !== 'string' || normaliseSha2Digest(stated) !== digest)
  ) {
    throw new HashRecordError('digest', 'conflict', 'disagrees with the algorithm', format)
  }
  if (fields.salt !== undefined && fields.salt !== null) {
    throw new HashRecordError(
      'salt',
      'unsupported',
      'is present, but sha256/sha512 records are the digest of the whole key: a salted digest does not say how salt and key were joined',
      format,
    )
  }
  const { bytes: hash, reading: hashReading } = readHash(fields.hash, options.hashEncoding, format)
  return {
    record: buildSha2Record(digest, hash, format),
    format,
    saltReading: 'none',
    hashReading,
    digestStated: true,
  }
}

/** Parses a JSON text record (a TEXT column holding `json.dumps(record)`), then reads it as an object. */
export function parseJsonRecord(text: string, options: ParseOptions = {}): RecordInspection {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // the parser's message may quote the text, so it is not passed on
    throw new HashRecordError(
      'format',
      'unrecognised',
      'starts with "{" but is not valid JSON',
      'json-string',
    )
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HashRecordError('format', 'unrecognised', 'is JSON but not an object', 'json-string')
  }
  return parseObjectRecord(value, options, 'json-string')
}

function readHash(
  value: unknown,
  encoding: HashEncoding | undefined,
  format: ObjectFormat,
): { bytes: Buffer; reading: HashEncoding | 'bytes' } {
  if (value === undefined || value === null)
    throw new HashRecordError('hash', 'missing', 'is missing', format)
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value), reading: 'bytes' }
  if (typeof value !== 'string')
    throw new HashRecordError('hash', 'wrong_type', 'must be a string or bytes', format)
  const reading = encoding ?? detectHashEncoding(value)
  const decoded = reading === 'hex' ? decodeHex(value) : decodeBase64(value, reading)
  return { bytes: decodedOrThrow(decoded, 'hash', format), reading }
}

function readSalt(
  value: unknown,
  encoding: SaltEncoding,
  format: ObjectFormat,
): { bytes: Buffer; reading: SaltEncoding | 'bytes' } {
  if (value === undefined || value === null)
    throw new HashRecordError('salt', 'missing', 'is missing', format)
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value), reading: 'bytes' }
  if (typeof value !== 'string')
    throw new HashRecordError('salt', 'wrong_type', 'must be a string or bytes', format)
  const decoded =
    encoding === 'utf8'
      ? encodeUtf8(value)
      : encoding === 'hex'
        ? decodeHex(value)
        : decodeBase64(value, encoding)
  if (!decoded.ok && encoding === 'hex' && decoded.problem === 'malformed') {
    // the usual cause is a salt that was meant as text (werkzeug-style alphanumerics)
    throw new HashRecordError(
      'salt',
      'malformed',
      `${decoded.description} (saltEncoding is "hex"; if the writer used the salt text itself, pass saltEncoding "utf8")`,
      format,
    )
  }
  return { bytes: decodedOrThrow(decoded, 'salt', format), reading: encoding }
}

function readIterations(fields: Record<string, unknown>, format: ObjectFormat): number {
  const { iter, iterations } = fields
  if (iter === undefined && iterations === undefined) {
    throw new HashRecordError('iterations', 'missing', 'is missing (expected "iter" or "iterations")', format)
  }
  const fromIter = iter === undefined ? undefined : readCount(iter, 'iterations', format, MAX_ITERATIONS)
  const fromIterations =
    iterations === undefined ? undefined : readCount(iterations, 'iterations', format, MAX_ITERATIONS)
  if (fromIter !== undefined && fromIterations !== undefined && fromIter !== fromIterations) {
    throw new HashRecordError(
      'iterations',
      'conflict',
      'is given twice ("iter" and "iterations") with different values',
      format,
    )
  }
  return (fromIter ?? fromIterations)!
}

function readStatedDigest(fields: Record<string, unknown>, format: ObjectFormat): Pbkdf2Digest | undefined {
  const { digest, alg } = fields
  const fromDigest = digest === undefined || digest === null ? undefined : readDigest(digest, format)
  const fromAlg = alg === undefined || alg === null ? undefined : readDigest(alg, format)
  if (fromDigest !== undefined && fromAlg !== undefined && fromDigest !== fromAlg) {
    throw new HashRecordError(
      'digest',
      'conflict',
      'is given twice ("digest" and "alg") with different values',
      format,
    )
  }
  return fromDigest ?? fromAlg
}

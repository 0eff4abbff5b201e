import { decodeHex, encodeUtf8 } from './encodings.js'
import { HashRecordError } from './errors.js'
import {
  buildRecord,
  DIGEST_BYTES,
  decodedOrThrow,
  MAX_ITERATIONS,
  readCount,
  readDigest,
  requireHashLength,
} from './fields.js'
import type { RecordInspection } from './types.js'

const FORMAT = 'werkzeug'

/**
 * Reads a werkzeug record `pbkdf2:<digest>:<iterations>$<salt>$<hex hash>`. The salt is used as
 * its UTF-8 text; the hash is hex of exactly the digest's size.
 *
 * A record without a count (`pbkdf2:sha256$…`) is refused: werkzeug reads it with the default
 * of whichever werkzeug version runs (260,000 in 2.2, more later), so the record alone does not
 * say how it was made. `generate_password_hash` always writes the count.
 */
export function parseWerkzeugRecord(text: string): RecordInspection {
  const parts = text.split('$')
  if (parts.length !== 3) {
    throw new HashRecordError(
      'format',
      'unrecognised',
      `has ${parts.length} "$"-separated fields; werkzeug has 3`,
      FORMAT,
    )
  }
  const [method, saltText, hashText] = parts as [string, string, string]
  const methodParts = method.split(':')
  if (methodParts[0] !== 'pbkdf2' || methodParts.length < 2 || methodParts.length > 3) {
    throw new HashRecordError(
      'format',
      'unrecognised',
      'has a method other than pbkdf2:<digest>:<iterations>',
      FORMAT,
    )
  }
  const digest = readDigest(methodParts[1]!, FORMAT)
  if (methodParts[2] === undefined) {
    throw new HashRecordError(
      'iterations',
      'missing',
      "is missing (pbkdf2:<digest> without a count means the running werkzeug version's default, which changes between versions)",
      FORMAT,
    )
  }
  const iterations = readCount(methodParts[2], 'iterations', FORMAT, MAX_ITERATIONS)
  const salt = decodedOrThrow(encodeUtf8(saltText), 'salt', FORMAT)
  const hash = decodedOrThrow(decodeHex(hashText), 'hash', FORMAT)
  requireHashLength(
    hash,
    DIGEST_BYTES[digest],
    'hash',
    `werkzeug pbkdf2:${digest} hashes are ${DIGEST_BYTES[digest]} bytes`,
    FORMAT,
  )
  return {
    record: buildRecord(digest, iterations, salt, hash, FORMAT),
    format: FORMAT,
    saltReading: 'utf8',
    hashReading: 'hex',
    digestStated: true,
  }
}

import { decodeBase64, encodeUtf8 } from './encodings.js'
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

const FORMAT = 'django'

/**
 * Reads a Django record `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (`pbkdf2_sha1` from
 * `PBKDF2SHA1PasswordHasher`). The salt is used as its UTF-8 text, not decoded; the hash is
 * standard base64 of exactly the digest's size. The count is always the record's own: Django's
 * default changes with every release.
 */
export function parseDjangoRecord(text: string): RecordInspection {
  const parts = text.split('$')
  if (parts.length !== 4) {
    throw new HashRecordError(
      'format',
      'unrecognised',
      `has ${parts.length} "$"-separated fields; Django has 4`,
      FORMAT,
    )
  }
  const [algorithm, count, saltText, hashText] = parts as [string, string, string, string]
  if (!algorithm.startsWith('pbkdf2_')) {
    throw new HashRecordError('format', 'unrecognised', 'does not start with "pbkdf2_"', FORMAT)
  }
  const digest = readDigest(algorithm.slice('pbkdf2_'.length), FORMAT)
  const iterations = readCount(count, 'iterations', FORMAT, MAX_ITERATIONS)
  const salt = decodedOrThrow(encodeUtf8(saltText), 'salt', FORMAT)
  const hash = decodedOrThrow(decodeBase64(hashText, 'base64'), 'hash', FORMAT)
  requireHashLength(
    hash,
    DIGEST_BYTES[digest],
    'hash',
    `Django ${algorithm} hashes are ${DIGEST_BYTES[digest]} bytes`,
    FORMAT,
  )
  return {
    record: buildRecord(digest, iterations, salt, hash, FORMAT),
    format: FORMAT,
    saltReading: 'utf8',
    hashReading: 'base64',
    digestStated: true,
  }
}

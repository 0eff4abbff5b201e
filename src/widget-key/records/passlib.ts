import { decodeAb64 } from './encodings.js'
import { HashRecordError } from './errors.js'
import {
  buildRecord,
  DIGEST_BYTES,
  decodedOrThrow,
  MAX_ITERATIONS,
  readCount,
  requireHashLength,
} from './fields.js'
import { phcDigest } from './phc.js'
import type { RecordInspection } from './types.js'

const FORMAT = 'passlib'

/**
 * Reads a passlib record `$pbkdf2-sha256$<rounds>$<salt>$<checksum>` (also `-sha512`, and bare
 * `$pbkdf2$` for SHA-1). Salt and checksum are passlib's adapted base64 (`.` for `+`, no padding);
 * the salt is the decoded bytes. passlib always writes a checksum of the digest's size, so any
 * other length is a damaged record, not a different dkLen.
 */
export function parsePasslibRecord(text: string): RecordInspection {
  const parts = text.split('$')
  if (parts.length !== 5 || parts[0] !== '') {
    throw new HashRecordError(
      'format',
      'unrecognised',
      `has ${parts.length - 1} "$"-separated fields; passlib has 4`,
      FORMAT,
    )
  }
  const [, identifier, rounds, saltText, hashText] = parts as [string, string, string, string, string]
  const digest = phcDigest(identifier, FORMAT)
  const iterations = readCount(rounds, 'iterations', FORMAT, MAX_ITERATIONS)
  const salt = decodedOrThrow(decodeAb64(saltText), 'salt', FORMAT)
  const hash = decodedOrThrow(decodeAb64(hashText), 'hash', FORMAT)
  requireHashLength(
    hash,
    DIGEST_BYTES[digest],
    'hash',
    `passlib ${identifier} checksums are ${DIGEST_BYTES[digest]} bytes`,
    FORMAT,
  )
  return {
    record: buildRecord(digest, iterations, salt, hash, FORMAT),
    format: FORMAT,
    saltReading: 'ab64',
    hashReading: 'ab64',
    digestStated: true,
  }
}

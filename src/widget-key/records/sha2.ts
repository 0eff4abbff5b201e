import { decodeHex } from './encodings.js'
import { HashRecordError } from './errors.js'
import { decodedOrThrow, requireHashLength } from './fields.js'
import type { RecordFormat, RecordInspection, Sha2Digest, Sha2Record } from './types.js'

/** Output size of each fast digest; a sha2 record's hash must be exactly this long. */
export const SHA2_BYTES: Readonly<Record<Sha2Digest, number>> = { sha256: 32, sha512: 64 }

/** A fast-digest name as records spell it (`sha256`, `SHA-512`), normalised; `undefined` otherwise. */
export function normaliseSha2Digest(name: string): Sha2Digest | undefined {
  const compact = name.toLowerCase().replace(/[-_]/g, '')
  return compact === 'sha256' || compact === 'sha512' ? compact : undefined
}

/**
 * Assembles a sha2 record. The hash must be exactly the digest's size: a digest is never
 * truncated by its writer, so any other length is a damaged or mislabelled record (a 32-byte
 * hash labelled sha512 is a SHA-256, or half of a SHA-512 — neither can be checked).
 */
export function buildSha2Record(digest: Sha2Digest, hash: Buffer, format: RecordFormat): Sha2Record {
  requireHashLength(
    hash,
    SHA2_BYTES[digest],
    'hash',
    `${digest} digests are ${SHA2_BYTES[digest]} bytes`,
    format,
  )
  return { algorithm: 'sha2', digest, hash }
}

/**
 * Reads djangorestframework-api-key's `sha512$$<hex>` (its `Sha512ApiKeyHasher`, the default
 * since 2.3: the hex SHA-512 of the whole key, in Django's `algorithm$salt$hash` layout with the
 * salt left empty). A salt is refused: the record would then not say how salt and key were joined.
 */
export function parseDrfApiKeyRecord(text: string): RecordInspection {
  const format = 'django'
  const parts = text.split('$')
  if (parts.length !== 3 || parts[0] !== 'sha512') {
    throw new HashRecordError('format', 'unrecognised', 'is not sha512$$<hex digest>', format)
  }
  if (parts[1] !== '') {
    throw new HashRecordError(
      'salt',
      'unsupported',
      'must be empty (sha512$$…): a salted fast digest does not say how salt and key were joined',
      format,
    )
  }
  const hash = decodedOrThrow(decodeHex(parts[2]!), 'hash', format)
  return {
    record: buildSha2Record('sha512', hash, format),
    format,
    saltReading: 'none',
    hashReading: 'hex',
    digestStated: true,
  }
}

import { decodeBase64 } from './encodings.js'
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
import type { Pbkdf2Digest, RecordInspection } from './types.js'

const FORMAT = 'phc'

/**
 * Reads a PHC string `$pbkdf2-<digest>$i=<N>[,l=<dkLen>]$<salt>$<hash>`, the layout RustCrypto's
 * `pbkdf2` crate writes (`$pbkdf2$` alone is SHA-1). Salt and hash are unpadded base64 — the
 * standard alphabet, or the URL-safe one that hand-written code uses (never both in one field:
 * the alphabets only differ in `+/` vs `-_`, so accepting either is unambiguous). The salt is the
 * decoded bytes. With `l`, the hash must be exactly `l` bytes; without it dkLen is the hash length.
 */
export function parsePhcRecord(text: string): RecordInspection {
  const parts = text.split('$')
  if (parts.length !== 5 || parts[0] !== '') {
    throw new HashRecordError(
      'format',
      'unrecognised',
      `has ${parts.length - 1} "$"-separated fields; PHC has 4`,
      FORMAT,
    )
  }
  const [, identifier, parameters, saltText, hashText] = parts as [string, string, string, string, string]
  const digest = phcDigest(identifier, FORMAT)

  const params = new Map<string, string>()
  for (const pair of parameters.split(',')) {
    const eq = pair.indexOf('=')
    const name = eq < 0 ? pair : pair.slice(0, eq)
    if (eq < 0 || (name !== 'i' && name !== 'l')) {
      throw new HashRecordError('format', 'unsupported', 'has a parameter other than i= and l=', FORMAT)
    }
    if (params.has(name)) throw new HashRecordError('format', 'unrecognised', `states ${name}= twice`, FORMAT)
    params.set(name, pair.slice(eq + 1))
  }
  const i = params.get('i')
  if (i === undefined)
    throw new HashRecordError('iterations', 'missing', 'is missing (no i= parameter)', FORMAT)
  const iterations = readCount(i, 'iterations', FORMAT, MAX_ITERATIONS)

  const salt = decodedOrThrow(decodeBase64(saltText, 'either', 'forbidden'), 'salt', FORMAT)
  const hash = decodedOrThrow(decodeBase64(hashText, 'either', 'forbidden'), 'hash', FORMAT)
  const l = params.get('l')
  if (l !== undefined) {
    const dklen = readCount(l, 'dklen', FORMAT, MAX_HASH_BYTES)
    requireHashLength(hash, dklen, 'dklen', `l=${dklen} states ${dklen} bytes`, FORMAT)
  }
  const urlSafe = /[-_]/.test(saltText) || /[-_]/.test(hashText)
  return {
    record: buildRecord(digest, iterations, salt, hash, FORMAT),
    format: FORMAT,
    saltReading: urlSafe ? 'base64url' : 'base64',
    hashReading: urlSafe ? 'base64url' : 'base64',
    digestStated: true,
  }
}

/** The digest of a `pbkdf2[-<digest>]` identifier, shared by PHC and passlib (bare `pbkdf2` is SHA-1). */
export function phcDigest(identifier: string, format: 'phc' | 'passlib'): Pbkdf2Digest {
  if (identifier === 'pbkdf2') return 'sha1'
  if (!identifier.startsWith('pbkdf2-')) {
    throw new HashRecordError('format', 'unrecognised', 'does not start with "$pbkdf2"', format)
  }
  return readDigest(identifier.slice('pbkdf2-'.length), format)
}

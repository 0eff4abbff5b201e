import { parseDjangoRecord } from './django.js'
import { HashRecordError } from './errors.js'
import { parseJsonRecord, parseObjectRecord } from './object.js'
import { parsePasslibRecord } from './passlib.js'
import { parsePhcRecord } from './phc.js'
import { parseDjangoScryptRecord, parseScryptPhcRecord, parseWerkzeugScryptRecord } from './scrypt.js'
import { parseDrfApiKeyRecord } from './sha2.js'
import type { HashRecord, HashRecordInput, ParseOptions, RecordFormat, RecordInspection } from './types.js'
import { parseWerkzeugRecord } from './werkzeug.js'

const SALT_ENCODINGS = ['hex', 'base64', 'base64url', 'utf8'] as const
const HASH_ENCODINGS = ['hex', 'base64', 'base64url'] as const

/**
 * Parses a hash record in any supported layout into one normalised {@link HashRecord}, whose
 * `algorithm` (`pbkdf2`, `scrypt` or `sha2`) says which family it is.
 *
 * | input | format |
 * |---|---|
 * | an object, or a string starting with `{` | object `{ hash, salt, iter \| iterations, digest \| alg?, dklen? }` / its JSON |
 * | the same with `algorithm: 'scrypt'` | object `{ algorithm, N \| n, r, p, salt, hash }` / its JSON |
 * | the same with `algorithm: 'sha256' \| 'sha512'` | object `{ algorithm, hash }` (digest of the whole key) / its JSON |
 * | `$pbkdf2…$i=N[,l=L]$salt$hash` | PHC (unpadded base64 fields) |
 * | `$pbkdf2…$N$salt$hash` | passlib (adapted base64 fields) |
 * | `$scrypt$ln=L,r=R,p=P$salt$hash` | passlib / PHC (unpadded standard base64 fields) |
 * | `pbkdf2_<digest>$N$salt$hash` | Django (salt is text, hash base64) |
 * | `scrypt$N$salt$r$p$hash` | Django scrypt (salt is text, 64-byte hash base64) |
 * | `sha512$$hexhash` | djangorestframework-api-key (hex SHA-512 of the key, no salt) |
 * | `pbkdf2:<digest>:N$salt$hash` | werkzeug (salt is text, hash hex) |
 * | `scrypt:N:r:p$salt$hash` | werkzeug scrypt (salt is text, 64-byte hash hex) |
 *
 * Every field is decoded strictly, dkLen rules are enforced per format (passlib, Django and
 * werkzeug fix it at the digest size; PHC's `l=` must agree), and hashes under 16 bytes are
 * refused. Whitespace around a record string is ignored (it is a storage artefact and never reaches
 * PBKDF2). A parsed {@link HashRecord} (bytes fields) is accepted too and re-validated.
 *
 * @param options how to read an object record's salt and hash text; ignored by string formats,
 *   which fix their own encodings.
 * @throws HashRecordError naming the field at fault (never quoting the record); the record is
 *   a data fault, which guards answer with 500 `server_misconfigured`.
 * @throws TypeError when `options` themselves are invalid.
 */
export function parseHashRecord(input: HashRecordInput | HashRecord, options: ParseOptions = {}): HashRecord {
  return inspectHashRecord(input, options).record
}

/**
 * Like {@link parseHashRecord}, and also says how the record was read: its format, the salt and
 * hash encodings used, and whether the digest was stated or assumed. Used by `keyward doctor`.
 */
export function inspectHashRecord(
  input: HashRecordInput | HashRecord,
  options: ParseOptions = {},
): RecordInspection {
  checkOptions(options)
  if (typeof input === 'string') {
    // whitespace around a stored record is an artefact of how it was stored (a file, a padded
    // column); none of the formats can contain it, and it never reaches PBKDF2
    const text = input.trim()
    const format = detectRecordFormat(text)
    switch (format) {
      case 'json-string':
        return parseJsonRecord(text, options)
      case 'phc':
      case 'passlib':
        if (text.startsWith('$scrypt$')) return parseScryptPhcRecord(text)
        return format === 'phc' ? parsePhcRecord(text) : parsePasslibRecord(text)
      case 'django':
        if (text.startsWith('scrypt$')) {
          // three fields is werkzeug's layout with its parameters left out, not a damaged Django one
          return text.split('$').length === 3
            ? parseWerkzeugScryptRecord(text)
            : parseDjangoScryptRecord(text)
        }
        if (text.startsWith('sha512$')) return parseDrfApiKeyRecord(text)
        return parseDjangoRecord(text)
      case 'werkzeug':
        return text.startsWith('scrypt:') ? parseWerkzeugScryptRecord(text) : parseWerkzeugRecord(text)
      default:
        throw new HashRecordError(
          'format',
          'unrecognised',
          text.length === 0
            ? 'is empty'
            : 'is not a recognised hash record (expected an object, JSON, $pbkdf2-…$ or $scrypt$ (PHC or passlib), pbkdf2_…, scrypt$ or sha512$$ (Django), or pbkdf2:… or scrypt:… (werkzeug))',
        )
    }
  }
  if (typeof input === 'object' && input !== null) return parseObjectRecord(input, options, 'object')
  throw new HashRecordError(
    'format',
    'wrong_type',
    `must be an object or a string; got ${describeType(input)}`,
  )
}

/**
 * Which layout a record string has, by its start (see {@link parseHashRecord}); `undefined`
 * when it has none of them. `$pbkdf2…` is PHC when its parameter field has `=` (`i=N`), passlib
 * when it is a bare number; `$scrypt$` is passlib's (the same as the PHC form).
 */
export function detectRecordFormat(text: string): Exclude<RecordFormat, 'object'> | undefined {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) return 'json-string'
  if (trimmed.startsWith('$pbkdf2')) {
    const parameters = trimmed.split('$')[2] ?? ''
    return parameters.includes('=') ? 'phc' : 'passlib'
  }
  if (trimmed.startsWith('$scrypt$')) return 'passlib'
  if (trimmed.startsWith('pbkdf2_') || trimmed.startsWith('scrypt$') || trimmed.startsWith('sha512$')) {
    return 'django'
  }
  if (trimmed.startsWith('pbkdf2:') || trimmed.startsWith('scrypt:')) return 'werkzeug'
  return undefined
}

function checkOptions(options: ParseOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`parseHashRecord: options must be an object; got ${describeType(options)}`)
  }
  const { saltEncoding, hashEncoding } = options
  if (saltEncoding !== undefined && !(SALT_ENCODINGS as readonly string[]).includes(saltEncoding)) {
    throw new TypeError(
      `parseHashRecord: "saltEncoding" must be one of ${SALT_ENCODINGS.join(', ')}; got ${JSON.stringify(saltEncoding)}`,
    )
  }
  if (hashEncoding !== undefined && !(HASH_ENCODINGS as readonly string[]).includes(hashEncoding)) {
    throw new TypeError(
      `parseHashRecord: "hashEncoding" must be one of ${HASH_ENCODINGS.join(', ')}; got ${JSON.stringify(hashEncoding)}`,
    )
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

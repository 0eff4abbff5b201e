import { decodeBase64, decodeHex, encodeUtf8 } from './encodings.js'
import { HashRecordError } from './errors.js'
import { checkSaltAndHash, decodedOrThrow, readCount, requireHashLength } from './fields.js'
import type { RecordFormat, RecordInspection, ScryptRecord } from './types.js'

/**
 * The bounds on a stored scrypt record's parameters. Records come from a store an attacker may
 * have written to (or an admin typo), and scrypt allocates 128 · N · r bytes per derivation, up to
 * `maxHashesInFlight` at once: without caps, one row saying `N=2^30` would have the server try to
 * allocate 128 GiB. The caps sit well above every writer's default (werkzeug `32768:8:1` = 32 MiB,
 * Django `16384/8/5` = 16 MiB, passlib `ln=16,r=8,p=1` = 64 MiB) and refuse anything beyond as a
 * data fault (`record_invalid`), never by allocating.
 */
export const SCRYPT_LIMITS = Object.freeze({
  /** Largest N: 2^20. */
  maxN: 2 ** 20,
  /** Largest block size r. */
  maxR: 32,
  /** Largest parallelisation p. */
  maxP: 16,
  /** Largest memory one derivation may need, 128 · N · r bytes: 256 MiB. */
  maxMemoryBytes: 256 * 1024 * 1024,
  /** Largest total work N · r · p (16× werkzeug's default), so p cannot pin the pool either. */
  maxWork: 2 ** 22,
})

/** werkzeug's and Django's scrypt hashes: `hashlib.scrypt`'s default dkLen, which both keep. */
const SCRYPT_DKLEN = 64

/**
 * The `maxmem` node:crypto needs for these parameters: OpenSSL counts the V array, 128 · r · (N + 2)
 * bytes, plus B, 128 · r · p; Node's default (32 MiB) is exactly too small for werkzeug's default.
 */
export function scryptMaxmem(record: Pick<ScryptRecord, 'N' | 'r' | 'p'>): number {
  return 128 * record.r * (record.N + 2) + 128 * record.r * record.p + 1024 * 1024
}

/** Checks N, r and p against {@link SCRYPT_LIMITS}, naming the field at fault. */
export function readScryptParameters(
  values: { N: unknown; r: unknown; p: unknown },
  format: RecordFormat,
): { N: number; r: number; p: number } {
  if (values.N === undefined || values.N === null) {
    throw new HashRecordError('N', 'missing', 'is missing', format)
  }
  const N = readCount(values.N, 'N', format, SCRYPT_LIMITS.maxN)
  if (N < 2 || (N & (N - 1)) !== 0) {
    throw new HashRecordError('N', 'out_of_range', 'must be a power of two greater than 1', format)
  }
  if (values.r === undefined || values.r === null) {
    throw new HashRecordError('r', 'missing', 'is missing', format)
  }
  const r = readCount(values.r, 'r', format, SCRYPT_LIMITS.maxR)
  if (values.p === undefined || values.p === null) {
    throw new HashRecordError('p', 'missing', 'is missing', format)
  }
  const p = readCount(values.p, 'p', format, SCRYPT_LIMITS.maxP)
  const memory = 128 * N * r
  if (memory > SCRYPT_LIMITS.maxMemoryBytes) {
    throw new HashRecordError(
      'N',
      'out_of_range',
      `and r need 128 · N · r = ${mib(memory)} MiB per derivation, more than ${mib(SCRYPT_LIMITS.maxMemoryBytes)} MiB`,
      format,
    )
  }
  if (N * r * p > SCRYPT_LIMITS.maxWork) {
    throw new HashRecordError(
      'p',
      'out_of_range',
      `makes N · r · p = ${N * r * p}, more than ${SCRYPT_LIMITS.maxWork}`,
      format,
    )
  }
  return { N, r, p }
}

/** Assembles an scrypt record after the salt and hash size checks every format shares. */
export function buildScryptRecord(
  parameters: { N: number; r: number; p: number },
  salt: Buffer,
  hash: Buffer,
  format: RecordFormat,
): ScryptRecord {
  checkSaltAndHash(salt, hash, format)
  return { algorithm: 'scrypt', N: parameters.N, r: parameters.r, p: parameters.p, salt, hash }
}

/**
 * Reads a werkzeug scrypt record `scrypt:<N>:<r>:<p>$<salt>$<hex hash>` (what
 * `generate_password_hash` writes by default since werkzeug 3.0). The salt is used as its UTF-8
 * text; the hash is hex of `hashlib.scrypt`'s 64 bytes. A bare `scrypt$…` (no parameters) is
 * refused: werkzeug always writes them, and the record alone should say how it was made.
 */
export function parseWerkzeugScryptRecord(text: string): RecordInspection {
  const format = 'werkzeug'
  const parts = text.split('$')
  if (parts.length !== 3) {
    throw new HashRecordError(
      'format',
      'unrecognised',
      `has ${parts.length} "$"-separated fields; werkzeug has 3`,
      format,
    )
  }
  const [method, saltText, hashText] = parts as [string, string, string]
  const methodParts = method.split(':')
  if (methodParts[0] !== 'scrypt' || methodParts.length > 4) {
    throw new HashRecordError('format', 'unrecognised', 'has a method other than scrypt:<N>:<r>:<p>', format)
  }
  if (methodParts.length !== 4) {
    const missing = (['N', 'r', 'p'] as const)[methodParts.length - 1]!
    throw new HashRecordError(missing, 'missing', 'is missing (werkzeug writes scrypt:<N>:<r>:<p>)', format)
  }
  const parameters = readScryptParameters({ N: methodParts[1], r: methodParts[2], p: methodParts[3] }, format)
  const salt = decodedOrThrow(encodeUtf8(saltText), 'salt', format)
  const hash = decodedOrThrow(decodeHex(hashText), 'hash', format)
  requireHashLength(hash, SCRYPT_DKLEN, 'hash', `werkzeug scrypt hashes are ${SCRYPT_DKLEN} bytes`, format)
  return {
    record: buildScryptRecord(parameters, salt, hash, format),
    format,
    saltReading: 'utf8',
    hashReading: 'hex',
    digestStated: true,
  }
}

/**
 * Reads a Django scrypt record `scrypt$<N>$<salt>$<r>$<p>$<base64 hash>` (`ScryptPasswordHasher`:
 * note the salt sits between N and r). The salt is used as its UTF-8 text; the hash is standard
 * base64 of exactly 64 bytes (Django fixes `dklen=64`).
 */
export function parseDjangoScryptRecord(text: string): RecordInspection {
  const format = 'django'
  const parts = text.split('$')
  if (parts.length !== 6) {
    throw new HashRecordError(
      'format',
      'unrecognised',
      `has ${parts.length} "$"-separated fields; Django scrypt has 6`,
      format,
    )
  }
  const [algorithm, n, saltText, r, p, hashText] = parts as [string, string, string, string, string, string]
  if (algorithm !== 'scrypt')
    throw new HashRecordError('format', 'unrecognised', 'does not start with "scrypt$"', format)
  const parameters = readScryptParameters({ N: n, r, p }, format)
  const salt = decodedOrThrow(encodeUtf8(saltText), 'salt', format)
  const hash = decodedOrThrow(decodeBase64(hashText, 'base64'), 'hash', format)
  requireHashLength(hash, SCRYPT_DKLEN, 'hash', `Django scrypt hashes are ${SCRYPT_DKLEN} bytes`, format)
  return {
    record: buildScryptRecord(parameters, salt, hash, format),
    format,
    saltReading: 'utf8',
    hashReading: 'base64',
    digestStated: true,
  }
}

/**
 * Reads `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`, the layout passlib writes (and RustCrypto's
 * `scrypt` PHC strings, and `formatHashRecord(…, 'phc')`). Unlike its `$pbkdf2…$` strings,
 * passlib writes these fields in unpadded *standard* base64 (`+` and `/`), not its adapted
 * base64. The salt is the decoded bytes; dkLen is the hash length (passlib writes 32).
 */
export function parseScryptPhcRecord(text: string): RecordInspection {
  const format = 'passlib'
  const parts = text.split('$')
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== 'scrypt') {
    throw new HashRecordError(
      'format',
      'unrecognised',
      `has ${parts.length - 1} "$"-separated fields; $scrypt$ has 4`,
      format,
    )
  }
  const [, , parameterText, saltText, hashText] = parts as [string, string, string, string, string]
  const params = new Map<string, string>()
  for (const pair of parameterText.split(',')) {
    const eq = pair.indexOf('=')
    const name = eq < 0 ? pair : pair.slice(0, eq)
    if (eq < 0 || (name !== 'ln' && name !== 'r' && name !== 'p')) {
      throw new HashRecordError('format', 'unsupported', 'has a parameter other than ln=, r= and p=', format)
    }
    if (params.has(name)) throw new HashRecordError('format', 'unrecognised', `states ${name}= twice`, format)
    params.set(name, pair.slice(eq + 1))
  }
  const ln = params.get('ln')
  if (ln === undefined) throw new HashRecordError('N', 'missing', 'is missing (no ln= parameter)', format)
  const exponent = readCount(ln, 'N', format, Math.log2(SCRYPT_LIMITS.maxN))
  const parameters = readScryptParameters(
    { N: 2 ** exponent, r: params.get('r'), p: params.get('p') },
    format,
  )
  const salt = decodedOrThrow(decodeBase64(saltText, 'base64', 'forbidden'), 'salt', format)
  const hash = decodedOrThrow(decodeBase64(hashText, 'base64', 'forbidden'), 'hash', format)
  return {
    record: buildScryptRecord(parameters, salt, hash, format),
    format,
    saltReading: 'base64',
    hashReading: 'base64',
    digestStated: true,
  }
}

function mib(bytes: number): string {
  return String(Math.round((bytes / (1024 * 1024)) * 100) / 100)
}

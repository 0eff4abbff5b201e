/** The HMAC digests PBKDF2 records are written with. Names are normalised to these three. */
export type Pbkdf2Digest = 'sha1' | 'sha256' | 'sha512'

/**
 * A PBKDF2 hash record, normalised: every PBKDF2 format parses to this shape, and the
 * verifier needs nothing else. `hash.length` is the dkLen: PBKDF2 is re-run to exactly that many
 * bytes.
 */
export interface Pbkdf2Record {
  algorithm: 'pbkdf2'
  /** The HMAC digest PBKDF2 was run with. */
  digest: Pbkdf2Digest
  /** The iteration count (PBKDF2's `c`): a positive integer. */
  iterations: number
  /** The exact salt bytes fed to PBKDF2 (already decoded, or the UTF-8 bytes of a text salt). */
  salt: Buffer
  /** The stored derived key; its length is the dkLen, at least 16 bytes. */
  hash: Buffer
}

/**
 * An scrypt hash record (werkzeug's default since 3.0, Django's and passlib's scrypt hashers),
 * normalised. `hash.length` is the dkLen. The parameters are bounded when parsed (see
 * `SCRYPT_LIMITS`), so a stored record cannot make the verifier allocate more than 256 MiB.
 */
export interface ScryptRecord {
  algorithm: 'scrypt'
  /** The CPU/memory cost: a power of two greater than 1. Memory used is 128 · N · r bytes. */
  N: number
  /** The block size. */
  r: number
  /** The parallelisation count (work grows linearly with it; memory does not). */
  p: number
  /** The exact salt bytes fed to scrypt (werkzeug and Django: the UTF-8 bytes of the salt text). */
  salt: Buffer
  /** The stored derived key; its length is the dkLen, at least 16 bytes. */
  hash: Buffer
}

/** The digests of fast (unsalted, single-pass) key digests. */
export type Sha2Digest = 'sha256' | 'sha512'

/**
 * A fast digest of the whole key (djangorestframework-api-key's `sha512$$…`, Unkey- and
 * better-auth-style stores' SHA-256 of the key). Sound only for high-entropy generated keys: it
 * has no salt and no work factor. `hash` is exactly the digest's size.
 */
export interface Sha2Record {
  algorithm: 'sha2'
  /** The digest of the key's UTF-8 bytes. */
  digest: Sha2Digest
  /** The stored digest: 32 bytes for SHA-256, 64 for SHA-512. */
  hash: Buffer
}

/** A parsed hash record of any supported family; `algorithm` says which. */
export type HashRecord = Pbkdf2Record | ScryptRecord | Sha2Record

/**
 * A record as a store or an admin API keeps it, before parsing: typically a row's columns
 * `{ hash, salt, iter }`. Unknown fields (tenant id, `expiresAt`, `origins`…) are ignored.
 */
export interface HashRecordObject {
  /** The derived key as text (hex, base64 or base64url; see `hashEncoding`) or as bytes. */
  hash?: string | Uint8Array
  /** The salt as text (read per `saltEncoding`, default hex) or as bytes (used as they are). */
  salt?: string | Uint8Array
  /** The iteration count. `iter` and `iterations` are synonyms; if both are present they must agree. */
  iter?: number | string
  /** The iteration count. `iter` and `iterations` are synonyms; if both are present they must agree. */
  iterations?: number | string
  /** The HMAC digest, default `sha256`. Case and dashes are ignored: `SHA-512` = `sha512`. */
  digest?: string
  /** Synonym of `digest`, as some admin APIs name it. */
  alg?: string
  /** The derived key length in bytes; when present it must equal the decoded hash length. */
  dklen?: number | string
  /** Spelling of `dklen` used by WebCrypto-minded writers. */
  dkLen?: number | string
  /**
   * The family, default `pbkdf2`. `scrypt` reads `N` (or `n`), `r`, `p`, `salt` and `hash`;
   * `sha256` / `sha512` read only `hash`, the digest of the whole key (no salt).
   */
  algorithm?: string
  /** scrypt's cost parameter N (a power of two); `n` is a synonym. */
  N?: number | string
  /** Synonym of `N`. */
  n?: number | string
  /** scrypt's block size. */
  r?: number | string
  /** scrypt's parallelisation count. */
  p?: number | string
}

/**
 * Anything `parseHashRecord` accepts: an object record (see {@link HashRecordObject}; any object
 * type is accepted so that a store's own row type can be passed as it is, and its fields are
 * checked at run time), or a string in one of the formats of {@link RecordFormat} (a string
 * starting with `{` is the object record as JSON).
 */
export type HashRecordInput = string | HashRecordObject | object

/** How the text of an object record's `salt` is turned into salt bytes. */
export type SaltEncoding = 'hex' | 'base64' | 'base64url' | 'utf8'

/** How the text of an object record's `hash` is turned into bytes. */
export type HashEncoding = 'hex' | 'base64' | 'base64url'

/** Options for reading object and JSON records. String formats fix their own encodings and ignore these. */
export interface ParseOptions {
  /**
   * How to read an object record's salt text. Default `'hex'` (the salt text is hex of the salt
   * bytes). Use `'utf8'` when the writer passed the salt *string* to PBKDF2, e.g. Python's
   * `pbkdf2_hmac(..., salt_hex.encode(), ...)`: the record looks the same either way, so this
   * cannot be detected, only told (F3).
   */
  saltEncoding?: SaltEncoding
  /**
   * How to read an object record's hash text. Default: detected — text made only of hex digits
   * is hex, text with `-` or `_` is base64url, anything else base64 (all decoded strictly).
   */
  hashEncoding?: HashEncoding
}

/** The layouts a record string or object can have; the names match the shared test vectors. */
export type RecordFormat = 'object' | 'json-string' | 'phc' | 'passlib' | 'django' | 'werkzeug'

/**
 * How a parsed record's salt text was read: the options' names, plus passlib's `ab64`, raw bytes,
 * and `none` for sha2 records, which have no salt.
 */
export type SaltReading = SaltEncoding | 'ab64' | 'bytes' | 'none'

/** How a parsed record's hash text was read: the options' names, plus passlib's `ab64` and raw bytes. */
export type HashReading = HashEncoding | 'ab64' | 'bytes'

/** Output layouts of `formatHashRecord`. */
export type OutputFormat = 'object' | 'json' | 'phc'

/** A parsed record together with how it was read; what `inspectHashRecord` returns (the doctor shows it). */
export interface RecordInspection {
  /** The parsed record, exactly what `parseHashRecord` returns. */
  record: HashRecord
  /** The layout the input was recognised as. */
  format: RecordFormat
  /** How the salt text became salt bytes. */
  saltReading: SaltReading
  /** How the hash text became bytes. */
  hashReading: HashReading
  /**
   * False when a PBKDF2 record names no digest and `sha256` was assumed (only object and JSON
   * records can); always true for scrypt and sha2 records, which name their family.
   */
  digestStated: boolean
}

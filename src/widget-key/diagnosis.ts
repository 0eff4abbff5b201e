import type { HashRecordField, HashRecordProblem } from './records/errors.js'
import type {
  HashEncoding,
  HashReading,
  HashRecord,
  ParseOptions,
  Pbkdf2Digest,
  RecordFormat,
  SaltEncoding,
  SaltReading,
} from './records/types.js'

/* What `diagnose` reports: the cause it names, the change that would make a key match, and
 * descriptions of the key and the record that carry no secret. */

/**
 * The cause a diagnosis names. The first eleven are the shared vectors' `diagnosis` tags;
 * `hash_encoding` (an object record's hash read in the wrong encoding) and `record_invalid` (a
 * field other than the hash is unusable) complete them.
 */
export type DiagnosisTag =
  | 'wrong_key'
  | 'salt_interpretation'
  | 'hash_encoding'
  | 'presented_key_whitespace'
  | 'record_hashed_with_whitespace'
  | 'key_case'
  | 'iterations'
  | 'digest'
  | 'malformed_hash'
  | 'truncated_hash'
  | 'hash_too_short'
  | 'empty_key'
  | 'record_invalid'

/** A change to the presented key that the doctor tries. */
export type KeyChange =
  | 'trim'
  | 'trim_end'
  | 'trim_start'
  | 'append_newline'
  | 'append_crlf'
  | 'append_space'
  | 'lowercase'
  | 'uppercase'

/** A salt interpretation in the vectors' words: `hex-bytes` ↔ `saltEncoding: 'hex'`, and so on. */
export type SaltInterpretation = 'hex-bytes' | 'utf8-string' | 'base64-bytes' | 'base64url-bytes'

/**
 * The one change that makes the key match, each checked by running PBKDF2. A changed key is
 * given by the change, its fingerprint and its length — never the key itself.
 */
export type MatchHint =
  | { key: { change: KeyChange; fingerprint: string; length: number } }
  | { iterations: number }
  | { digest: Pbkdf2Digest }
  | { saltInterpretation: SaltInterpretation; encoding: { salt: SaltEncoding; hash: HashReading } }
  | { hashEncoding: HashEncoding }

/** The presented key as a diagnosis shows it: a fingerprint and facts about it, never its text. */
export interface KeyDescription {
  /** `fingerprint(key)`, comparable with decision events. */
  fingerprint: string
  /** Length in UTF-16 code units, as JavaScript counts. */
  length: number
  /** Whether the key starts with whitespace (space, tab, newline…). */
  leadingWhitespace: boolean
  /** Whether the key ends with whitespace: typical of a key read from a file written by `echo`. */
  trailingWhitespace: boolean
}

/** The parsed record as a diagnosis shows it: parameters and encodings, no hash or salt text. */
export interface RecordDescription {
  /** The layout the record was recognised as. */
  format: RecordFormat
  /** `recordFingerprint(record)`, comparable with decision events. */
  fingerprint: string
  /** The record's family. */
  algorithm: HashRecord['algorithm']
  /** The family and its parameters in words, e.g. `pbkdf2-sha256, 600000 iterations` or `scrypt N=32768 r=8 p=1`. */
  parameters: string
  /** The digest used (PBKDF2's HMAC digest, stated or assumed; sha2's digest); `null` for scrypt. */
  digest: Pbkdf2Digest | null
  /** False when the record names no digest and sha256 was assumed. */
  digestStated: boolean
  /** The iteration count a PBKDF2 record states; `null` for the other families. */
  iterations: number | null
  /** Salt length in bytes, as fed to the derivation (0 for sha2 records, which have none). */
  saltBytes: number
  /** Derived key length in bytes (the stored hash's length). */
  dkLen: number
  /** How the salt text was turned into bytes. */
  saltEncoding: SaltReading
  /** How the hash text was turned into bytes. */
  hashEncoding: HashReading
}

/** Why a key does or does not match a record, safe to print and log (no key, no record text). */
export interface Diagnosis {
  /** Whether the key, exactly as presented, matches the record as read with the given options. */
  match: boolean
  /** The cause when there is no match; `null` on a match. */
  tag: DiagnosisTag | null
  /** One paragraph for a human: what is wrong and what to do. */
  explanation: string
  /** The presented key: fingerprint, length, whitespace. */
  key: KeyDescription
  /** The record as parsed with the given options; `null` when it could not be parsed. */
  record: RecordDescription | null
  /** Why the record could not be parsed with the given options. */
  recordError: { field: HashRecordField; problem: HashRecordProblem; message: string } | null
  /** The single change that makes the key match, when one was found. */
  wouldMatchWith: MatchHint | null
  /** PBKDF2 runs the diagnosis took. */
  derivations: number
}

/** Options of {@link diagnose}: the reader's options, plus a bound on the search. */
export interface DiagnoseOptions extends ParseOptions {
  /**
   * Highest iteration count tried when looking for the count a hash was really made with.
   * Default 1,000,000: enough for every common default (passlib, werkzeug, Django, OWASP) while
   * keeping a full search to a few seconds.
   */
  maxSearchIterations?: number
}

/** Counts the doctor tries besides the record's own: library defaults and OWASP figures. */

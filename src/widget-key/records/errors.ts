import type { RecordFormat } from './types.js'

/**
 * The part of a hash record that is wrong. `origins` is the allowed-origin list a store may keep
 * beside a widget record (not part of the hash itself); `N`, `r` and `p` are scrypt's parameters.
 */
export type HashRecordField =
  | 'hash'
  | 'salt'
  | 'iterations'
  | 'digest'
  | 'dklen'
  | 'format'
  | 'origins'
  | 'N'
  | 'r'
  | 'p'

/**
 * What is wrong with the field, as a stable string to switch on (the doctor turns these into
 * diagnoses, e.g. `truncated` hash → `truncated_hash`).
 * - `missing`: the field is absent (or a werkzeug record has no iteration count)
 * - `wrong_type`: not a string / number / bytes as required
 * - `empty`: present but empty
 * - `malformed`: not valid text for its encoding (odd hex, a character outside the alphabet, bad padding)
 * - `too_short`: a hash under 16 bytes (policy: such a hash is too weak, and usually a truncated one)
 * - `too_long`: over the size limit
 * - `truncated`: fewer bytes than the format or `l=` requires
 * - `wrong_length`: more bytes than the format or `l=` requires
 * - `conflict`: two spellings of one field disagree (`iter` vs `iterations`, `digest` vs `alg`, `dklen` vs hash)
 * - `unsupported`: a digest, algorithm or PHC parameter keyward does not know
 * - `out_of_range`: an iteration count, dkLen or scrypt parameter that is not a positive integer in
 *   range (scrypt's N must also be a power of two; see `SCRYPT_LIMITS` for the caps)
 * - `unrecognised`: the text is none of the supported layouts (or invalid JSON)
 */
export type HashRecordProblem =
  | 'missing'
  | 'wrong_type'
  | 'empty'
  | 'malformed'
  | 'too_short'
  | 'too_long'
  | 'truncated'
  | 'wrong_length'
  | 'conflict'
  | 'unsupported'
  | 'out_of_range'
  | 'unrecognised'

const BRAND = Symbol.for('keyward.HashRecordError')

/**
 * A stored hash record that cannot be used. This is a server-side data fault, not a wrong key:
 * a guard answers it with 500 `server_misconfigured` and reason `record_invalid`.
 *
 * The message names the field and the problem (with lengths and positions where they help), and
 * never any of the record's hash or salt text, nor any key.
 */
export class HashRecordError extends Error {
  override readonly name = 'HashRecordError'
  /** The operator-facing reason guards report for this error. */
  readonly reason = 'record_invalid' as const
  /** The field at fault. */
  readonly field: HashRecordField
  /** What is wrong with it. */
  readonly problem: HashRecordProblem
  /** The layout the record was recognised as, if it got that far. */
  readonly format: RecordFormat | undefined

  constructor(
    field: HashRecordField,
    problem: HashRecordProblem,
    description: string,
    format?: RecordFormat,
  ) {
    super(`invalid ${format === undefined ? '' : `${format} `}hash record: ${field} ${description}`)
    this.field = field
    this.problem = problem
    this.format = format
    Object.defineProperty(this, BRAND, { value: true })
  }

  /** True for any HashRecordError, even one from another copy of the package (ESM and CJS side by side). */
  static is(value: unknown): value is HashRecordError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
  }
}

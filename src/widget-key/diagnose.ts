import { equalBytes } from '../core/compare.js'
import { fingerprint } from '../core/fingerprint.js'
import type {
  DiagnoseOptions,
  Diagnosis,
  DiagnosisTag,
  KeyChange,
  KeyDescription,
  MatchHint,
  RecordDescription,
  SaltInterpretation,
} from './diagnosis.js'
import { derive } from './pbkdf2.js'
import { HashRecordError } from './records/errors.js'
import { MAX_ITERATIONS } from './records/fields.js'
import { recordFingerprint } from './records/fingerprint.js'
import { inspectHashRecord } from './records/parse.js'
import type {
  HashEncoding,
  HashRecord,
  HashRecordInput,
  ParseOptions,
  Pbkdf2Digest,
  Pbkdf2Record,
  RecordInspection,
  SaltEncoding,
} from './records/types.js'

const COMMON_ITERATIONS = [1000, 2000, 10_000, 25_000, 29_000, 100_000, 260_000, 310_000, 600_000]
/** PBKDF2 runs in flight during a search: libuv's default pool size, so other work still gets a thread. */
const SEARCH_CONCURRENCY = 4
const SALT_ENCODINGS: readonly SaltEncoding[] = ['hex', 'utf8', 'base64', 'base64url']
const HASH_ENCODINGS: readonly HashEncoding[] = ['hex', 'base64', 'base64url']
const DIGESTS: readonly Pbkdf2Digest[] = ['sha256', 'sha512', 'sha1']
const INTERPRETATION: Readonly<Record<SaltEncoding, SaltInterpretation>> = {
  hex: 'hex-bytes',
  utf8: 'utf8-string',
  base64: 'base64-bytes',
  base64url: 'base64url-bytes',
}

interface Candidate {
  key: string
  record: HashRecord
  tag: DiagnosisTag
  hint: MatchHint
  explanation: string
}

/**
 * Explains whether `key` matches `record` and, when it does not, finds the one change that would
 * make it match: stray whitespace on the presented key, a record hashed from the key plus a
 * newline, the key's case, another reading of an object record's salt (hex bytes, UTF-8 text,
 * base64) or hash, another digest, or another iteration count (the record's count ÷10 and ×10,
 * and common library defaults). Every hint is confirmed by running PBKDF2; the search is bounded
 * (about twenty derivations) and runs on libuv's thread pool. An invalid record is diagnosed by
 * the field at fault, after trying the other readings of its salt and hash.
 *
 * The result never contains the key (only its fingerprint and length) nor the record's text.
 *
 * @throws TypeError for invalid options.
 */
export async function diagnose(
  key: string,
  input: HashRecordInput,
  options: DiagnoseOptions = {},
): Promise<Diagnosis> {
  if (typeof key !== 'string') throw new TypeError('diagnose: the key must be a string')
  const { maxSearchIterations = 1_000_000, ...parseOptions } = options
  if (!Number.isInteger(maxSearchIterations) || maxSearchIterations < 1) {
    throw new TypeError(
      `diagnose: "maxSearchIterations" must be a positive integer; got ${String(maxSearchIterations)}`,
    )
  }
  const keyDescription = describeKey(key)
  let inspection: RecordInspection | undefined
  let recordError: HashRecordError | undefined
  try {
    inspection = inspectHashRecord(input, parseOptions)
  } catch (error) {
    if (!HashRecordError.is(error)) throw error
    recordError = error
  }

  let derivations = 0
  const result = (
    tag: DiagnosisTag | null,
    explanation: string,
    wouldMatchWith: MatchHint | null = null,
  ): Diagnosis => ({
    match: tag === null,
    tag,
    explanation,
    key: keyDescription,
    record: inspection ? describeRecord(inspection) : null,
    recordError: recordError
      ? { field: recordError.field, problem: recordError.problem, message: recordError.message }
      : null,
    wouldMatchWith,
    derivations,
  })
  // candidates run a few at a time, cheapest first; once one matches, the rest are not started
  const firstMatch = async (candidates: Candidate[]): Promise<Candidate | undefined> => {
    let next = 0
    let found = -1
    const worker = async () => {
      while (next < candidates.length && found < 0) {
        const index = next++
        const candidate = candidates[index]!
        derivations += 1
        const derived = await derive(candidate.key, candidate.record)
        if (equalBytes(derived, candidate.record.hash) && (found < 0 || index < found)) found = index
      }
    }
    await Promise.all(Array.from({ length: Math.min(SEARCH_CONCURRENCY, candidates.length) }, worker))
    return found < 0 ? undefined : candidates[found]
  }

  if (key.length === 0) {
    return result(
      'empty_key',
      'The presented key is empty. An empty key is never a credential: it is refused before any store read or hashing, even against a record made from "" (an unset variable, an empty file, a missing header value?).',
    )
  }

  if (inspection) {
    derivations += 1
    if (equalBytes(await derive(key, inspection.record), inspection.record.hash)) {
      return result(null, `The key matches this ${describeParameters(inspection)}.`)
    }
    const found = await firstMatch(keyChanges(key, inspection.record))
    if (found) return result(found.tag, found.explanation, found.hint)
  }

  const reading = await firstMatch(otherReadings(key, input, parseOptions, inspection))
  if (reading) return result(reading.tag, reading.explanation, reading.hint)

  if (!inspection) {
    const error = recordError!
    return result(
      tagForRecordError(error),
      `The record cannot be used: ${error.message}. A guard answers 500 server_misconfigured (reason record_invalid) for it; fix the stored record.`,
    )
  }

  const stated = inspection.record
  if (stated.algorithm !== 'pbkdf2') {
    return result(
      'wrong_key',
      `The key does not match this ${describeParameters(inspection)}, and no single change tried makes it match (surrounding whitespace, a trailing newline in the record, letter case${objectFields(input) ? ', other hash readings' : ''}). Most likely this is not the key the record was made from: another tenant's key, a rotated or regenerated key, or a record read from another store or a stale cache.`,
    )
  }
  const digest = await firstMatch(otherDigests(key, inspection, stated))
  if (digest) return result(digest.tag, digest.explanation, digest.hint)

  const counts = searchCounts(stated.iterations, maxSearchIterations)
  const count = await firstMatch(
    counts.map((iterations) => ({
      key,
      record: { ...stated, iterations },
      tag: 'iterations',
      hint: { iterations },
      explanation: `The record states ${stated.iterations} iterations, but the hash was made with ${iterations}. Correct the count stored with the record (or re-hash the key with the stated count).`,
    })),
  )
  if (count) return result(count.tag, count.explanation, count.hint)

  return result(
    'wrong_key',
    `The key does not match this ${describeParameters(inspection)}, and no single change tried makes it match (surrounding whitespace, a trailing newline in the record, letter case, ${objectFields(input) ? 'other salt and hash readings, ' : ''}other digests, ${counts.length} other iteration counts). Most likely this is not the key the record was made from: another tenant's key, a rotated or regenerated key, or a record read from another store or a stale cache.`,
  )
}

function keyChanges(key: string, record: HashRecord): Candidate[] {
  const candidates: Candidate[] = []
  const add = (change: KeyChange, changed: string, tag: DiagnosisTag, explanation: string) => {
    if (changed === key || changed.length === 0 || candidates.some((c) => c.key === changed)) return
    candidates.push({
      key: changed,
      record,
      tag,
      hint: { key: { change, fingerprint: fingerprint(changed), length: changed.length } },
      explanation,
    })
  }
  const strip =
    'Strip it where the key is read (a file written by echo, an environment variable, a pasted value): verifiers compare keys exactly and never trim.'
  add(
    'trim',
    key.trim(),
    'presented_key_whitespace',
    `The presented key has ${whitespaceAround(key)}; without it, the key matches. ${strip}`,
  )
  add(
    'trim_end',
    key.trimEnd(),
    'presented_key_whitespace',
    `The presented key ends with ${describeWhitespace(key.slice(key.trimEnd().length))}; without it, the key matches. ${strip}`,
  )
  add(
    'trim_start',
    key.trimStart(),
    'presented_key_whitespace',
    `The presented key starts with ${describeWhitespace(key.slice(0, key.length - key.trimStart().length))}; without it, the key matches. ${strip}`,
  )
  for (const [change, suffix] of [
    ['append_newline', '\n'],
    ['append_crlf', '\r\n'],
    ['append_space', ' '],
  ] as const) {
    add(
      change,
      key + suffix,
      'record_hashed_with_whitespace',
      `The record matches the key followed by ${describeWhitespace(suffix)}: whoever wrote the record hashed the key with it (read from a file or stdin without stripping). Re-hash the key without it, e.g. with keyward create-widget-key.`,
    )
  }
  add(
    'lowercase',
    key.toLowerCase(),
    'key_case',
    'The lowercase form of the presented key matches: the key was case-folded on one side (by the writer, a proxy, or a case-insensitive column). Keys are compared exactly, never case-folded; re-hash the key as issued.',
  )
  add(
    'uppercase',
    key.toUpperCase(),
    'key_case',
    'The uppercase form of the presented key matches: the key was case-folded on one side (by the writer, a proxy, or a case-insensitive column). Keys are compared exactly, never case-folded; re-hash the key as issued.',
  )
  return candidates
}

/** Other readings of an object record's salt and hash text (string layouts fix theirs). */
function otherReadings(
  key: string,
  input: HashRecordInput,
  options: ParseOptions,
  base: RecordInspection | undefined,
): Candidate[] {
  const fields = objectFields(input)
  if (fields === undefined) return []
  const saltEncoding = options.saltEncoding ?? 'hex'
  const candidates: Candidate[] = []
  const seen = new Set(base ? [recordFingerprint(base.record)] : [])
  const consider = (
    variant: ParseOptions,
    describe: (inspection: RecordInspection) => Omit<Candidate, 'key' | 'record'>,
  ) => {
    let inspection: RecordInspection
    try {
      inspection = inspectHashRecord(input, variant)
    } catch {
      return
    }
    const id = recordFingerprint(inspection.record)
    if (seen.has(id)) return
    seen.add(id)
    candidates.push({ key, record: inspection.record, ...describe(inspection) })
  }
  if (typeof fields.salt === 'string') {
    for (const salt of SALT_ENCODINGS) {
      if (salt === saltEncoding) continue
      consider({ ...options, saltEncoding: salt }, (inspection) => ({
        tag: 'salt_interpretation',
        hint: { saltInterpretation: INTERPRETATION[salt], encoding: { salt, hash: inspection.hashReading } },
        explanation: `The record matches when its salt is read as ${INTERPRETATION[salt]} (saltEncoding "${salt}") instead of ${INTERPRETATION[saltEncoding]}: the writer and this reader disagree about what the salt text means (F3). Pass saltEncoding "${salt}" for these records, or re-write them in one unambiguous layout (formatHashRecord "phc").`,
      }))
    }
  }
  if (typeof fields.hash === 'string') {
    for (const hash of HASH_ENCODINGS) {
      if (hash === (base?.hashReading ?? options.hashEncoding)) continue
      consider({ ...options, hashEncoding: hash }, () => ({
        tag: 'hash_encoding',
        hint: { hashEncoding: hash },
        explanation: `The record matches when its hash is read as ${hash} (hashEncoding "${hash}") instead of ${options.hashEncoding ?? 'the detected encoding'}. Pass hashEncoding "${hash}" for these records.`,
      }))
    }
  }
  return candidates
}

function otherDigests(key: string, inspection: RecordInspection, record: Pbkdf2Record): Candidate[] {
  const { digestStated } = inspection
  return DIGESTS.filter((digest) => digest !== record.digest).map((digest) => ({
    key,
    record: { ...record, digest },
    tag: 'digest' as const,
    hint: { digest },
    explanation: digestStated
      ? `The record states ${record.digest}, but the hash was made with ${digest}. Correct the digest stored with the record.`
      : `The record names no digest, so ${record.digest} was assumed; the hash was made with ${digest}. Store "digest": "${digest}" with the record (a hash's length never tells its digest: SHA-256 can be written 64 bytes long).`,
  }))
}

/** The record's count ÷10 and ×10 and common defaults, cheapest first; bounded, each tried once. */
function searchCounts(stated: number, max: number): number[] {
  const counts = [stated / 10, stated * 10, ...COMMON_ITERATIONS]
  return [...new Set(counts)]
    .filter(
      (count) =>
        Number.isInteger(count) && count >= 1 && count !== stated && count <= Math.min(max, MAX_ITERATIONS),
    )
    .sort((a, b) => a - b)
}

function objectFields(input: HashRecordInput): Record<string, unknown> | undefined {
  if (typeof input === 'object' && input !== null && !Array.isArray(input))
    return input as Record<string, unknown>
  if (typeof input === 'string' && input.trim().startsWith('{')) {
    try {
      const value: unknown = JSON.parse(input)
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        return value as Record<string, unknown>
    } catch {
      return undefined
    }
  }
  return undefined
}

function tagForRecordError(error: HashRecordError): DiagnosisTag {
  if (error.field === 'hash' && error.problem === 'malformed') return 'malformed_hash'
  if ((error.field === 'hash' || error.field === 'dklen') && error.problem === 'truncated')
    return 'truncated_hash'
  if (error.field === 'hash' && error.problem === 'too_short') return 'hash_too_short'
  return 'record_invalid'
}

function describeKey(key: string): KeyDescription {
  return {
    fingerprint: fingerprint(key),
    length: key.length,
    leadingWhitespace: key.length > 0 && key.trimStart() !== key,
    trailingWhitespace: key.length > 0 && key.trimEnd() !== key,
  }
}

function describeRecord(inspection: RecordInspection): RecordDescription {
  const { record } = inspection
  return {
    format: inspection.format,
    fingerprint: recordFingerprint(record),
    algorithm: record.algorithm,
    parameters: describeFamily(record),
    digest: record.algorithm === 'scrypt' ? null : record.digest,
    digestStated: inspection.digestStated,
    iterations: record.algorithm === 'pbkdf2' ? record.iterations : null,
    saltBytes: record.algorithm === 'sha2' ? 0 : record.salt.length,
    dkLen: record.hash.length,
    saltEncoding: inspection.saltReading,
    hashEncoding: inspection.hashReading,
  }
}

function describeParameters(inspection: RecordInspection): string {
  const { record } = inspection
  if (record.algorithm === 'sha2') {
    return `${inspection.format} record (${record.digest.toUpperCase()} of the key, ${record.hash.length}-byte hash read as ${inspection.hashReading})`
  }
  const family =
    record.algorithm === 'scrypt'
      ? `scrypt N=${record.N} r=${record.r} p=${record.p}`
      : `PBKDF2-HMAC-${record.digest.toUpperCase()}${inspection.digestStated ? '' : ' (assumed)'}, ${record.iterations} iterations`
  return `${inspection.format} record (${family}, ${record.salt.length}-byte salt read as ${inspection.saltReading}, ${record.hash.length}-byte hash read as ${inspection.hashReading})`
}

function describeFamily(record: HashRecord): string {
  if (record.algorithm === 'pbkdf2') return `pbkdf2-${record.digest}, ${record.iterations} iterations`
  if (record.algorithm === 'scrypt') return `scrypt N=${record.N} r=${record.r} p=${record.p}`
  return `${record.digest} digest of the key`
}

function whitespaceAround(key: string): string {
  const leading = key.slice(0, key.length - key.trimStart().length)
  const trailing = key.slice(key.trimEnd().length)
  if (leading && trailing)
    return `leading ${describeWhitespace(leading)} and trailing ${describeWhitespace(trailing)}`
  return leading ? `leading ${describeWhitespace(leading)}` : `trailing ${describeWhitespace(trailing)}`
}

/** Whitespace by name (`\n`, `space`), so a terminal shows what it is; nothing else of the key is shown. */
function describeWhitespace(text: string): string {
  const names = [...text].map((char) =>
    char === '\n'
      ? '\\n'
      : char === '\r'
        ? '\\r'
        : char === '\t'
          ? '\\t'
          : char === ' '
            ? 'space'
            : `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
  )
  return `whitespace (${names.join(', ')})`
}

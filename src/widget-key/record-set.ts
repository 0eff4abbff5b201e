import { configuredOrigin } from './origins.js'
import { HashRecordError } from './records/errors.js'
import { recordFingerprint } from './records/fingerprint.js'
import { parseHashRecord } from './records/parse.js'
import type { HashRecord, HashRecordInput, ParseOptions } from './records/types.js'

/**
 * A record as the store may hand it over: the record itself (any format `parseHashRecord`
 * reads), or wrapped with its rotation deadline and allowed origins. Object records may also
 * carry `expiresAt` and `origins` beside their own fields.
 */
export type WidgetRecordInput =
  | HashRecordInput
  | { record: HashRecordInput; expiresAt?: Date | string | number | null; origins?: readonly string[] | null }

/** What the `records` resolver may return for a tenant. */
export type WidgetRecordsAnswer = WidgetRecordInput | readonly WidgetRecordInput[] | null | undefined

/** A parsed record, ready to verify against: no secret, only the stored hash and its fingerprint. */
export interface LoadedRecord {
  record: HashRecord
  fingerprint: string
  /** ms since the epoch after which the record no longer matches (rotation grace). */
  expiresAt: number | undefined
  origins: ReadonlySet<string> | undefined
  /**
   * The SHA-256 of the key that last verified against this record, until `until` (the clock's
   * ms, `verifiedTtl` after it verified): a tenant's pages share one key, so the warm path
   * compares one digest instead of building a cache key per request. Dropped with the record.
   */
  lastMatch?: { digest: Buffer; until: number }
}

export type TenantRecords =
  | { found: true; records: LoadedRecord[]; invalid: HashRecordError[] }
  | { found: false }

/** Parses a resolver's answer once, when it is loaded, so requests only derive and compare. */
export function loadRecords(answer: WidgetRecordsAnswer, parseOptions: ParseOptions): TenantRecords {
  if (answer === null || answer === undefined) return { found: false }
  const list: readonly WidgetRecordInput[] = Array.isArray(answer) ? answer : [answer as WidgetRecordInput]
  if (list.length === 0) return { found: false }
  const records: LoadedRecord[] = []
  const invalid: HashRecordError[] = []
  for (const entry of list) {
    const wrapped = isWrapped(entry) ? entry : undefined
    const input = wrapped ? wrapped.record : (entry as HashRecordInput)
    const meta =
      wrapped ?? (typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {})
    try {
      const record = parseHashRecord(input, parseOptions)
      records.push({
        record,
        fingerprint: recordFingerprint(record),
        expiresAt: toTime(meta.expiresAt),
        origins: recordOrigins(meta.origins),
      })
    } catch (error) {
      if (HashRecordError.is(error)) invalid.push(error)
      else throw error
    }
  }
  return { found: true, records, invalid }
}

/**
 * A record's own allowed origins. An entry that is not an origin makes the record unusable (a data
 * fault, 500), never a looser check: the operator meant some restriction, and only they can say which.
 */
function recordOrigins(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) {
    throw new HashRecordError(
      'origins',
      'wrong_type',
      'must be an array of origins such as ["https://app.example.com"]',
    )
  }
  const out = new Set<string>()
  for (const entry of value) {
    const parsed = configuredOrigin(entry)
    if (parsed instanceof Error) throw new HashRecordError('origins', 'malformed', `entry ${parsed.message}`)
    out.add(parsed)
  }
  return out
}

function isWrapped(entry: unknown): entry is Extract<WidgetRecordInput, { record: HashRecordInput }> {
  return typeof entry === 'object' && entry !== null && 'record' in entry
}

function toTime(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  const time =
    value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(String(value))
  // an unreadable deadline is treated as already passed: fail closed
  return Number.isNaN(time) ? 0 : time
}

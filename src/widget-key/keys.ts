import { createHash, randomBytes } from 'node:crypto'
import { fingerprint } from '../core/fingerprint.js'
import { type HashWidgetKeyOptions, hashWidgetKey } from './pbkdf2.js'
import type { Pbkdf2Record } from './records/types.js'

/** The prefix `createWidgetKey` puts on keys unless told otherwise. */
export const DEFAULT_WIDGET_KEY_PREFIX = 'wid_'

/** Characters after the prefix in a generated key: 28 random + 4 checksum, all base64url. */
export const WIDGET_KEY_LENGTH_AFTER_PREFIX = 32

const RANDOM_BYTES = 21 // 168 bits, exactly 28 base64url characters
const BODY_CHARS = 28
const PREFIX = /^[A-Za-z0-9._-]{1,32}$/
const KEY_AFTER_PREFIX = /^[A-Za-z0-9_-]{32}$/

/** Options of {@link createWidgetKey}; `iterations`, `digest` and `saltBytes` are those of `hashWidgetKey`. */
export interface CreateWidgetKeyOptions extends HashWidgetKeyOptions {
  /**
   * Text every generated key starts with. Default `'wid_'`. It makes keys recognisable (secret
   * scanners, logs, support tickets) and names the namespace in which `checkWidgetKeyShape`
   * can check checksums. 1–32 characters of `A–Z a–z 0–9 . _ -`.
   */
  prefix?: string
}

/** A new widget key, its record for the store, and the key's fingerprint for logs. */
export interface CreatedWidgetKey {
  /** The key itself: hand it to the tenant once, never store or log it. */
  key: string
  /** Its PBKDF2 record, to store (write it with `formatHashRecord`). */
  record: Pbkdf2Record
  /** `fingerprint(key)`: safe to log and show, identifies the key in decision events. */
  fingerprint: string
}

/**
 * Creates a widget key and its hash record: the writing side of `verifyWidgetKey` (F3: one
 * library hashes and verifies, so the two sides cannot disagree about encodings).
 *
 * Layout: `prefix` + 28 random base64url characters (168 bits from `crypto.randomBytes`) + a
 * 4-character checksum, the base64url of the first 3 bytes of SHA-256(`prefix` + the 28
 * characters). The checksum is no secret; it lets a server refuse a mistyped, truncated or
 * corrupted key (`checkWidgetKeyShape`) before any store read or PBKDF2 run, and lets secret
 * scanners tell real keys from look-alikes.
 *
 * @throws TypeError for an invalid prefix or hashing option.
 */
export async function createWidgetKey(options: CreateWidgetKeyOptions = {}): Promise<CreatedWidgetKey> {
  const { prefix = DEFAULT_WIDGET_KEY_PREFIX, ...hashing } = options
  if (!isWidgetKeyPrefix(prefix)) {
    throw new TypeError(
      `createWidgetKey: "prefix" must be 1-32 characters of A-Z a-z 0-9 . _ -; got ${JSON.stringify(prefix)}`,
    )
  }
  const body = randomBytes(RANDOM_BYTES).toString('base64url')
  const key = `${prefix}${body}${checksumOf(prefix, body)}`
  const record = await hashWidgetKey(key, hashing)
  return { key, record, fingerprint: fingerprint(key) }
}

/** The result of {@link checkWidgetKeyShape}; the reasons are guard reasons (`KeywardReason`). */
export type WidgetKeyShape = { ok: true } | { ok: false; reason: 'key_malformed' | 'key_checksum_invalid' }

/**
 * Checks a presented key's shape and checksum without any store read or hashing, so a mistyped
 * or corrupted generated key is refused cheaply.
 *
 * The check applies **only when `prefix` is given and the key starts with it**. Then the key
 * must be exactly `prefix` + 32 base64url characters (`key_malformed` otherwise) whose last 4
 * are the checksum of the rest (`key_checksum_invalid` otherwise). Every other key — no `prefix`
 * given, or a key with another prefix or none — is `{ ok: true }` and goes on to normal
 * verification, because tenants may hold keys made by other systems.
 *
 * Pass a prefix only when every key that starts with it was made by `createWidgetKey`: a key of
 * the same shape from another generator (e.g. `wid_` + 32 random characters) fails the checksum.
 */
export function checkWidgetKeyShape(key: string, prefix?: string): WidgetKeyShape {
  if (prefix === undefined || prefix.length === 0 || !key.startsWith(prefix)) return { ok: true }
  const rest = key.slice(prefix.length)
  if (!KEY_AFTER_PREFIX.test(rest)) return { ok: false, reason: 'key_malformed' }
  const body = rest.slice(0, BODY_CHARS)
  // not a secret comparison: the checksum is computed from the presented key alone
  if (rest.slice(BODY_CHARS) !== checksumOf(prefix, body))
    return { ok: false, reason: 'key_checksum_invalid' }
  return { ok: true }
}

/** True for a prefix `createWidgetKey` can put on keys: 1-32 characters of `A-Z a-z 0-9 . _ -`. */
export function isWidgetKeyPrefix(prefix: unknown): prefix is string {
  return typeof prefix === 'string' && PREFIX.test(prefix)
}

function checksumOf(prefix: string, body: string): string {
  return createHash('sha256').update(`${prefix}${body}`).digest().subarray(0, 3).toString('base64url')
}

import type { KeywardReason } from './errors.js'

/** Longest credential header value accepted; longer values are refused before any work. */
export const MAX_CREDENTIAL_LENGTH = 4096

/** A header as Node delivers it: one value, several (repeated header), or none. */
export type HeaderValue = string | readonly string[] | undefined

export type Extracted =
  | { ok: true; value: string }
  | { ok: false; code: 'missing_credentials' | 'invalid_request'; reason: KeywardReason }

// Visible ASCII only: keys and tokens never need anything else, and refusing the rest
// means a pasted key with a stray byte is named, not silently mismatched.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/
const NON_ASCII = /[^\u0000-\u007f]/
const WHITESPACE_EDGE = /^[ \t]|[ \t]$/
// The common case in one test: visible ASCII, inner spaces allowed, no comma, no space at either end.
const PLAIN = /^[\x21-\x2b\x2d-\x7e](?:[\x20-\x2b\x2d-\x7e]*[\x21-\x2b\x2d-\x7e])?$/

/**
 * Reads one credential from a header value, strictly: a repeated header, a comma-joined value,
 * control characters, non-ASCII bytes, surrounding whitespace and over-long values are each a
 * distinct `invalid_request`. Nothing is trimmed: a key with a trailing newline is not the key.
 */
export function extractCredential(raw: HeaderValue): Extracted {
  let value: string
  if (raw === undefined) return { ok: false, code: 'missing_credentials', reason: 'no_header' }
  if (typeof raw === 'string') value = raw
  else if (raw.length === 0) return { ok: false, code: 'missing_credentials', reason: 'no_header' }
  else if (raw.length > 1) return { ok: false, code: 'invalid_request', reason: 'header_repeated' }
  else value = raw[0] as string
  if (typeof value !== 'string')
    return { ok: false, code: 'invalid_request', reason: 'header_control_characters' }
  if (value.length > MAX_CREDENTIAL_LENGTH)
    return { ok: false, code: 'invalid_request', reason: 'header_too_long' }
  if (value.length === 0) return { ok: false, code: 'missing_credentials', reason: 'header_empty' }
  if (PLAIN.test(value)) return { ok: true, value }
  if (CONTROL.test(value)) return { ok: false, code: 'invalid_request', reason: 'header_control_characters' }
  if (NON_ASCII.test(value)) return { ok: false, code: 'invalid_request', reason: 'header_non_ascii' }
  if (WHITESPACE_EDGE.test(value)) {
    return { ok: false, code: 'invalid_request', reason: 'header_surrounding_whitespace' }
  }
  if (value.includes(',')) return { ok: false, code: 'invalid_request', reason: 'header_comma_joined' }
  return { ok: true, value }
}

/**
 * Validates a header name given as an option and returns it lower-cased, the form Node uses
 * for `req.headers` keys, so lookups are case-insensitive.
 */
export function headerName(name: unknown, option: string, owner: string): string {
  if (typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new TypeError(
      `${owner}: "${option}" must be an HTTP header name such as "x-worker-key"; got ${describeValue(name)}`,
    )
  }
  return name.toLowerCase()
}

/** Describes an option value for an error message without echoing a possible secret. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (value === '') return '"" (an empty string — was the environment variable set?)'
  if (typeof value === 'string') return `a string of ${value.length} characters`
  if (Array.isArray(value)) return `an array of ${value.length}`
  return typeof value
}

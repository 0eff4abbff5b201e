/**
 * Strict decoders for the text fields of hash records.
 *
 * Node's `Buffer.from(text, 'hex' | 'base64')` never throws: it stops at the first non-hex
 * character, drops a dangling nibble, and skips characters outside the base64 alphabet (such as
 * passlib's `.`). Because PBKDF2 output is prefix-consistent, such silently shortened bytes can
 * even *match* a truncated record. So every decoder here validates the whole text first and
 * accepts only canonical encodings (zero trailing bits, correct padding); the result says what
 * was wrong, without quoting the text.
 */

/** The outcome of decoding one field: the bytes, or what is wrong (no part of the text). */
export type Decoded =
  | { ok: true; bytes: Buffer }
  | { ok: false; problem: 'empty' | 'malformed'; description: string }

const HEX = /^(?:[0-9a-f]{2})+$/i
const NOT_HEX = /[^0-9a-f]/i
const NOT_BASE64 = /[^A-Za-z0-9+/]/
const NOT_BASE64URL = /[^A-Za-z0-9_-]/
const NOT_EITHER_BASE64 = /[^A-Za-z0-9+/_-]/
const NOT_AB64 = /[^A-Za-z0-9./]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const ok = (bytes: Buffer): Decoded => ({ ok: true, bytes })
const malformed = (description: string): Decoded => ({ ok: false, problem: 'malformed', description })
const empty: Decoded = { ok: false, problem: 'empty', description: 'is empty' }

/** Hex, either case (`/^(?:[0-9a-f]{2})+$/i`). Odd length and non-hex characters are refused, never skipped. */
export function decodeHex(text: string): Decoded {
  if (text.length === 0) return empty
  if (HEX.test(text)) return ok(Buffer.from(text, 'hex'))
  const bad = text.search(NOT_HEX)
  if (bad >= 0) return malformed(`is not hex: character ${bad + 1} of ${text.length} is not a hex digit`)
  return malformed(`is not hex: it has an odd number of hex digits (${text.length}), so a digit is missing`)
}

/** Which base64 alphabet a decoder accepts; `either` = standard or URL-safe, but not both in one text. */
export type Base64Alphabet = 'base64' | 'base64url' | 'either'

/** Whether `=` padding may, or must not, appear. */
export type Base64Padding = 'optional' | 'forbidden'

/**
 * Base64 (RFC 4648 §4) or base64url (§5), padded or not per `padding`. Refuses characters outside
 * the alphabet, impossible lengths, wrong padding, and non-zero trailing bits (a second spelling
 * of the same bytes).
 */
export function decodeBase64(
  text: string,
  alphabet: Base64Alphabet,
  padding: Base64Padding = 'optional',
): Decoded {
  if (text.length === 0) return empty
  const name = alphabet === 'base64url' ? 'base64url' : 'base64'
  let pad = 0
  while (pad < text.length && text[text.length - 1 - pad] === '=') pad++
  const body = text.slice(0, text.length - pad)
  if (body.length === 0) return empty
  const notAlphabet =
    alphabet === 'base64' ? NOT_BASE64 : alphabet === 'base64url' ? NOT_BASE64URL : NOT_EITHER_BASE64
  const bad = body.search(notAlphabet)
  if (bad >= 0) {
    const hint = alphabet === 'base64' && /[-_]/.test(body[bad]!) ? ' (a URL-safe base64 character)' : ''
    return malformed(`is not ${name}: character ${bad + 1} of ${text.length} is outside its alphabet${hint}`)
  }
  if (alphabet === 'either' && /[+/]/.test(body) && /[-_]/.test(body)) {
    return malformed('is not base64: it mixes the standard (+/) and URL-safe (-_) alphabets')
  }
  if (body.length % 4 === 1)
    return malformed(`is not ${name}: ${body.length} characters cannot encode whole bytes`)
  if (pad > 0) {
    if (padding === 'forbidden') return malformed(`is not ${name}: this format writes it without "=" padding`)
    if (text.length % 4 !== 0) return malformed(`is not ${name}: it has the wrong amount of "=" padding`)
  }
  const bytes = Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
  // a last character with non-zero unused bits decodes to the same bytes as another spelling;
  // refusing it keeps exactly one accepted text per byte string
  const canonical = bytes.toString('base64').replace(/=+$/, '')
  if (canonical !== body.replace(/-/g, '+').replace(/_/g, '/')) {
    return malformed(`is not canonical ${name}: its last character has non-zero unused bits`)
  }
  return ok(bytes)
}

/**
 * passlib's "adapted base64": the standard alphabet with `.` for `+`, never padded. Translated to
 * standard base64 before decoding, because a plain base64 decoder would silently skip the `.`.
 */
export function decodeAb64(text: string): Decoded {
  if (text.length === 0) return empty
  const bad = text.search(NOT_AB64)
  if (bad >= 0) {
    return malformed(`is not passlib ab64: character ${bad + 1} of ${text.length} is outside its alphabet`)
  }
  const decoded = decodeBase64(text.replace(/\./g, '+'), 'base64', 'forbidden')
  if (!decoded.ok)
    return { ...decoded, description: decoded.description.replace('is not base64', 'is not passlib ab64') }
  return decoded
}

/** The text's own UTF-8 bytes (nothing decoded). Refuses text that has no UTF-8 form (a lone surrogate). */
export function encodeUtf8(text: string): Decoded {
  if (text.length === 0) return empty
  if (LONE_SURROGATE.test(text)) return malformed('is not valid text: it contains a lone UTF-16 surrogate')
  return ok(Buffer.from(text, 'utf8'))
}

/** Which encoding an untagged hash text is in: only hex digits → hex, `-`/`_` → base64url, else base64. */
export function detectHashEncoding(text: string): 'hex' | 'base64' | 'base64url' {
  // text made only of hex digits is hex even when its length is odd: a base64 string with no
  // letter beyond f is astronomically unlikely, a truncated hex string is not (and must be refused)
  if (text.length > 0 && !NOT_HEX.test(text)) return 'hex'
  return /[-_]/.test(text) ? 'base64url' : 'base64'
}

/** passlib's adapted base64 of some bytes. */
export function encodeAb64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '').replace(/\+/g, '.')
}

/** Unpadded standard base64 (the PHC "B64"). */
export function encodeB64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '')
}

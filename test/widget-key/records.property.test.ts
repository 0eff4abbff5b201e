import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeAb64, decodeBase64, decodeHex, encodeAb64 } from '../../src/widget-key/records/encodings.js'
import { HashRecordError } from '../../src/widget-key/records/errors.js'
import { recordFingerprint } from '../../src/widget-key/records/fingerprint.js'
import { formatHashRecord } from '../../src/widget-key/records/format.js'
import { parseHashRecord } from '../../src/widget-key/records/parse.js'
import type { HashRecord, HashRecordInput, ParseOptions } from '../../src/widget-key/records/types.js'

const RUNS = { numRuns: 500 }

/** Strings over an alphabet (fast-check 4: `unit` picks each character). */
const stringOf = (chars: string, maxLength = 24) =>
  fc.string({ unit: fc.constantFrom(...chars.split('')), maxLength })

const HEX = '0123456789abcdefABCDEF'
const BASE64ISH = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=.'
const RECORDISH = `${BASE64ISH}$:,i=l{}" \n`

const options = fc.record(
  {
    saltEncoding: fc.constantFrom('hex', 'base64', 'base64url', 'utf8'),
    hashEncoding: fc.constantFrom('hex', 'base64', 'base64url'),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<ParseOptions>

/** Record-shaped strings in every layout, with arbitrary pieces, so the parsers' deeper branches run. */
const recordishString = fc.oneof(
  fc.string(),
  stringOf(RECORDISH, 120),
  fc
    .tuple(
      fc.constantFrom('$pbkdf2', '$pbkdf2-sha256', '$pbkdf2-sha512', '$pbkdf2-SHA-1', '$pbkdf2-md5'),
      fc.oneof(fc.nat().map(String), stringOf('i=l,0123456789', 16)),
      stringOf(BASE64ISH, 30),
      stringOf(BASE64ISH, 90),
    )
    .map(([id, params, salt, hash]) => `${id}$${params}$${salt}$${hash}`),
  fc
    .tuple(
      fc.constantFrom('pbkdf2_sha256', 'pbkdf2_sha1', 'pbkdf2_'),
      fc.nat().map(String),
      stringOf(BASE64ISH, 30),
      stringOf(BASE64ISH, 50),
    )
    .map(([id, n, salt, hash]) => `${id}$${n}$${salt}$${hash}`),
  fc
    .tuple(
      fc.constantFrom('pbkdf2:sha256', 'pbkdf2:sha512:', 'pbkdf2:sha1:'),
      fc.oneof(fc.nat().map(String), fc.string()),
      fc.string(),
      stringOf(HEX, 130),
    )
    .map(([method, n, salt, hash]) => `${method}:${n}$${salt}$${hash}`),
  fc.json().map((json) => ` ${json}`),
)

const recordishObject = fc.record(
  {
    hash: fc.oneof(
      stringOf(HEX, 130),
      stringOf(BASE64ISH, 90),
      fc.uint8Array({ maxLength: 80 }),
      fc.anything(),
    ),
    salt: fc.oneof(
      stringOf(HEX, 40),
      stringOf(BASE64ISH, 30),
      fc.string(),
      fc.uint8Array({ maxLength: 40 }),
      fc.anything(),
    ),
    iter: fc.oneof(fc.integer(), fc.double(), fc.nat().map(String), fc.string(), fc.anything()),
    iterations: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.anything()),
    digest: fc.oneof(fc.constantFrom('sha256', 'SHA-512', 'sha_1', 'md5', ''), fc.anything()),
    alg: fc.oneof(fc.constantFrom('sha256', 'SHA-512'), fc.anything()),
    dklen: fc.oneof(fc.integer({ min: -1, max: 80 }), fc.anything()),
    algorithm: fc.oneof(fc.constant('pbkdf2'), fc.anything()),
  },
  { requiredKeys: [] },
)

function parsesOrRefuses(input: unknown, parseOptions?: ParseOptions): void {
  try {
    const record = parseHashRecord(input as HashRecordInput, parseOptions)
    // anything accepted is usable as it stands
    expect(record.hash.length).toBeGreaterThanOrEqual(16)
    if (record.algorithm === 'sha2') return
    expect(record.salt.length).toBeGreaterThan(0)
    if (record.algorithm === 'scrypt') return
    expect(Number.isInteger(record.iterations) && record.iterations > 0).toBe(true)
    expect(['sha1', 'sha256', 'sha512']).toContain(record.digest)
  } catch (error) {
    if (!(error instanceof HashRecordError)) throw error
  }
}

describe('parseHashRecord on arbitrary input', () => {
  it('throws nothing but HashRecordError for arbitrary and record-shaped strings', () => {
    fc.assert(
      fc.property(recordishString, options, (text, parseOptions) => parsesOrRefuses(text, parseOptions)),
      { numRuns: 2000 },
    )
  })

  it('throws nothing but HashRecordError for arbitrary values and record-shaped objects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), recordishObject), options, (value, parseOptions) =>
        parsesOrRefuses(value, parseOptions),
      ),
      {
        numRuns: 2000,
      },
    )
  })
})

const recordArbitrary: fc.Arbitrary<HashRecord> = fc.record({
  algorithm: fc.constant('pbkdf2' as const),
  digest: fc.constantFrom('sha1' as const, 'sha256' as const, 'sha512' as const),
  iterations: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  salt: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  hash: fc.uint8Array({ minLength: 16, maxLength: 128 }).map((bytes) => Buffer.from(bytes)),
})

describe('formatHashRecord then parseHashRecord', () => {
  it('gives back the same record, with the same fingerprint, in every output layout', () => {
    fc.assert(
      fc.property(
        recordArbitrary,
        fc.constantFrom('object' as const, 'json' as const, 'phc' as const),
        (record, format) => {
          const parsed = parseHashRecord(formatHashRecord(record, format))
          expect(parsed).toEqual(record)
          expect(recordFingerprint(parsed)).toBe(recordFingerprint(record))
        },
      ),
      RUNS,
    )
  })
})

describe('strict decoders', () => {
  it('accept exactly the canonical hex of some bytes, in either case', () => {
    fc.assert(
      fc.property(fc.oneof(stringOf(HEX, 40), stringOf(`${HEX}gx `, 40)), (text) => {
        const decoded = decodeHex(text)
        const canonical = text.length > 0 && text.length % 2 === 0 && /^[0-9a-f]*$/i.test(text)
        expect(decoded.ok).toBe(canonical)
        if (decoded.ok) expect(decoded.bytes.toString('hex')).toBe(text.toLowerCase())
      }),
      { numRuns: 1000 },
    )
  })

  it('accept exactly the canonical base64 of some bytes, padded or not', () => {
    fc.assert(
      fc.property(
        stringOf(BASE64ISH, 16),
        fc.constantFrom('base64' as const, 'base64url' as const, 'either' as const),
        (text, alphabet) => {
          const decoded = decodeBase64(text, alphabet)
          if (!decoded.ok) return
          const standard = decoded.bytes.toString('base64')
          const url = decoded.bytes.toString('base64url')
          const spellings =
            alphabet === 'base64'
              ? [standard]
              : alphabet === 'base64url'
                ? [`${url}${'='.repeat(standard.length - url.length)}`]
                : [standard, `${url}${'='.repeat(standard.length - url.length)}`]
          expect(spellings.flatMap((s) => [s, s.replace(/=+$/, '')])).toContain(text)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('decode every canonical spelling of any bytes back to those bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (array) => {
        const bytes = Buffer.from(array)
        const padded = bytes.toString('base64')
        for (const [text, alphabet] of [
          [padded, 'base64'],
          [padded.replace(/=+$/, ''), 'base64'],
          [bytes.toString('base64url'), 'base64url'],
          [bytes.toString('base64url'), 'either'],
          [padded, 'either'],
        ] as const) {
          const decoded = decodeBase64(text, alphabet)
          expect(decoded.ok && decoded.bytes.equals(bytes)).toBe(true)
        }
        const hex = decodeHex(bytes.toString('hex').toUpperCase())
        expect(hex.ok && hex.bytes.equals(bytes)).toBe(true)
        const ab64 = decodeAb64(encodeAb64(bytes))
        expect(ab64.ok && ab64.bytes.equals(bytes)).toBe(true)
      }),
      RUNS,
    )
  })

  it('accept exactly passlib ab64 spellings, and never skip a character', () => {
    fc.assert(
      fc.property(stringOf(BASE64ISH, 16), (text) => {
        const decoded = decodeAb64(text)
        if (decoded.ok) expect(encodeAb64(decoded.bytes)).toBe(text)
        if (/[^A-Za-z0-9./]/.test(text)) expect(decoded.ok).toBe(false)
      }),
      { numRuns: 2000 },
    )
  })

  it('refuse padding where a layout forbids it', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }).filter((a) => a.length % 3 !== 0),
        (array) => {
          expect(decodeBase64(Buffer.from(array).toString('base64'), 'either', 'forbidden').ok).toBe(false)
        },
      ),
      RUNS,
    )
  })
})

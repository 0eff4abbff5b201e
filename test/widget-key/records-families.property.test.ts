import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HashRecordError } from '../../src/widget-key/records/errors.js'
import { recordFingerprint } from '../../src/widget-key/records/fingerprint.js'
import { formatHashRecord } from '../../src/widget-key/records/format.js'
import { parseHashRecord } from '../../src/widget-key/records/parse.js'
import { SCRYPT_LIMITS } from '../../src/widget-key/records/scrypt.js'
import type { HashRecord, HashRecordInput, ParseOptions } from '../../src/widget-key/records/types.js'

const RUNS = { numRuns: 500 }
const stringOf = (chars: string, minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...chars.split('')), minLength, maxLength })
const HEX = '0123456789abcdefABCDEF'
const BASE64ISH = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=.'

/** Numbers as a stored record may spell them: plausible, huge, negative, fractional, not numbers. */
const parameter = fc.oneof(
  fc.constantFrom(
    '1',
    '2',
    '8',
    '16',
    '1024',
    '16384',
    '32768',
    '1048576',
    '2097152',
    '0',
    '-8',
    '1e3',
    '08',
    '',
  ),
  fc.nat().map(String),
  fc.integer({ min: 0, max: 64 }).map((e) => String(2 ** e)),
  fc.string({ maxLength: 6 }),
)

/** The hash text each generated record carries, so the message can be checked not to quote it. */
const shaped: fc.Arbitrary<{ input: HashRecordInput; hashText: string }> = fc.oneof(
  fc
    .tuple(parameter, parameter, parameter, fc.string({ maxLength: 24 }), stringOf(HEX, 10, 140))
    .map(([n, r, p, salt, hash]) => ({ input: `scrypt:${n}:${r}:${p}$${salt}$${hash}`, hashText: hash })),
  fc
    .tuple(parameter, fc.string({ maxLength: 24 }), parameter, parameter, stringOf(BASE64ISH, 10, 100))
    .map(([n, salt, r, p, hash]) => ({ input: `scrypt$${n}$${salt}$${r}$${p}$${hash}`, hashText: hash })),
  fc
    .tuple(parameter, parameter, parameter, stringOf(BASE64ISH, 0, 30), stringOf(BASE64ISH, 10, 60))
    .map(([ln, r, p, salt, hash]) => ({
      input: `$scrypt$ln=${ln},r=${r},p=${p}$${salt}$${hash}`,
      hashText: hash,
    })),
  fc
    .tuple(fc.string({ maxLength: 4 }), stringOf(HEX, 10, 140))
    .map(([salt, hash]) => ({ input: `sha512$${salt}$${hash}`, hashText: hash })),
  fc
    .record(
      {
        algorithm: fc.constantFrom('scrypt', 'sha256', 'SHA-512', 'sha2', 'sha1', 'md5'),
        N: fc.oneof(parameter, fc.integer(), fc.anything()),
        n: fc.oneof(parameter, fc.anything()),
        r: fc.oneof(parameter, fc.integer(), fc.anything()),
        p: fc.oneof(parameter, fc.integer(), fc.anything()),
        salt: fc.oneof(stringOf(HEX, 0, 40), fc.uint8Array({ maxLength: 40 }), fc.anything()),
        digest: fc.oneof(fc.constantFrom('sha256', 'sha512', 'sha1'), fc.anything()),
        hash: stringOf(BASE64ISH, 10, 140),
      },
      { requiredKeys: ['algorithm', 'hash'] },
    )
    .map((input) => ({ input, hashText: input.hash })),
)

const options = fc.record(
  {
    saltEncoding: fc.constantFrom('hex', 'base64', 'base64url', 'utf8'),
    hashEncoding: fc.constantFrom('hex', 'base64', 'base64url'),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<ParseOptions>

describe('scrypt and sha2 parsers on arbitrary record-shaped input', () => {
  it('throw nothing but HashRecordError, never quote the hash, and only accept bounded parameters', () => {
    fc.assert(
      fc.property(shaped, options, ({ input, hashText }, parseOptions) => {
        let record: HashRecord
        try {
          record = parseHashRecord(input, parseOptions)
        } catch (error) {
          expect(HashRecordError.is(error), `threw ${(error as Error)?.name}`).toBe(true)
          expect((error as Error).message).not.toContain(hashText)
          return
        }
        expect(record.hash.length).toBeGreaterThanOrEqual(16)
        if (record.algorithm === 'scrypt') {
          const { N, r, p } = record
          expect(N >= 2 && N <= SCRYPT_LIMITS.maxN && (N & (N - 1)) === 0).toBe(true)
          expect(128 * N * r).toBeLessThanOrEqual(SCRYPT_LIMITS.maxMemoryBytes)
          expect(N * r * p).toBeLessThanOrEqual(SCRYPT_LIMITS.maxWork)
          expect(record.salt.length).toBeGreaterThan(0)
        } else if (record.algorithm === 'sha2') {
          expect(record.hash.length).toBe(record.digest === 'sha256' ? 32 : 64)
        }
      }),
      RUNS,
    )
  })
})

describe('formatHashRecord then parseHashRecord, scrypt and sha2', () => {
  const scryptRecord = fc
    .record({
      ln: fc.integer({ min: 1, max: 20 }),
      r: fc.integer({ min: 1, max: SCRYPT_LIMITS.maxR }),
      p: fc.integer({ min: 1, max: SCRYPT_LIMITS.maxP }),
      salt: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      hash: fc.uint8Array({ minLength: 16, maxLength: 128 }),
    })
    .filter(
      ({ ln, r, p }) =>
        128 * 2 ** ln * r <= SCRYPT_LIMITS.maxMemoryBytes && 2 ** ln * r * p <= SCRYPT_LIMITS.maxWork,
    )
    .map(
      ({ ln, r, p, salt, hash }): HashRecord => ({
        algorithm: 'scrypt',
        N: 2 ** ln,
        r,
        p,
        salt: Buffer.from(salt),
        hash: Buffer.from(hash),
      }),
    )
  const sha2Record = fc
    .constantFrom('sha256' as const, 'sha512' as const)
    .chain((digest) =>
      fc
        .uint8Array({ minLength: digest === 'sha256' ? 32 : 64, maxLength: digest === 'sha256' ? 32 : 64 })
        .map((hash): HashRecord => ({ algorithm: 'sha2', digest, hash: Buffer.from(hash) })),
    )

  it('gives back the same record, with the same fingerprint, in every layout the family has', () => {
    fc.assert(
      fc.property(fc.oneof(scryptRecord, sha2Record), (record) => {
        const layouts =
          record.algorithm === 'sha2' ? (['object', 'json'] as const) : (['object', 'json', 'phc'] as const)
        for (const layout of layouts) {
          const back = parseHashRecord(formatHashRecord(record, layout))
          expect(back).toEqual(record)
          expect(recordFingerprint(back)).toBe(recordFingerprint(record))
        }
      }),
      RUNS,
    )
  })
})

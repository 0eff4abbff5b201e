import { createHash, scryptSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { verifyKeyAgainstRecord } from '../../src/widget-key/pbkdf2.js'
import {
  HashRecordError,
  type HashRecordField,
  type HashRecordProblem,
} from '../../src/widget-key/records/errors.js'
import { recordFingerprint } from '../../src/widget-key/records/fingerprint.js'
import { formatHashRecord } from '../../src/widget-key/records/format.js'
import { detectRecordFormat, inspectHashRecord, parseHashRecord } from '../../src/widget-key/records/parse.js'
import { SCRYPT_LIMITS } from '../../src/widget-key/records/scrypt.js'
import type { HashRecordInput, ParseOptions, ScryptRecord } from '../../src/widget-key/records/types.js'

const KEY = 'wid_family_key_0123456789abcdefghij'
const SALT_TEXT = 'yjnqyZSEqnPwoBAN'
const scryptOf = (key: string, salt: Buffer | string, N: number, r: number, p: number, dklen: number) =>
  scryptSync(key, salt, dklen, { N, r, p, maxmem: 256 * N * r + 2 ** 20 })
const wzHash = scryptOf(KEY, SALT_TEXT, 1024, 8, 1, 64)
const werkzeug = (method: string, hash = wzHash.toString('hex'), salt = SALT_TEXT) =>
  `${method}$${salt}$${hash}`
const django = (n: string, r: string, p: string, hash = wzHash.toString('base64'), salt = SALT_TEXT) =>
  `scrypt$${n}$${salt}$${r}$${p}$${hash}`
const saltBytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex')
const plHash = scryptOf(KEY, saltBytes, 1024, 8, 1, 32)
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '')
const passlib = (params: string, salt = b64(saltBytes), hash = b64(plHash)) =>
  `$scrypt$${params}$${salt}$${hash}`
const sha512 = createHash('sha512').update(KEY).digest()
const sha256 = createHash('sha256').update(KEY).digest()

/** Expects a HashRecordError naming `field` whose message quotes none of the record's salt or hash text. */
function refusal(
  input: unknown,
  field: HashRecordField,
  problem?: HashRecordProblem,
  options: ParseOptions = {},
) {
  let thrown: unknown
  try {
    parseHashRecord(input as HashRecordInput, options)
  } catch (error) {
    thrown = error
  }
  expect(thrown, 'parseHashRecord should throw').toBeInstanceOf(HashRecordError)
  const error = thrown as HashRecordError
  expect({ field: error.field, reason: error.reason }).toEqual({ field, reason: 'record_invalid' })
  if (problem) expect(error.problem).toBe(problem)
  expect(error.message).toContain(field)
  const texts =
    typeof input === 'string'
      ? (input.match(/[A-Za-z0-9+/_.-]{10,}/g) ?? [])
      : [(input as Record<string, unknown>).hash, (input as Record<string, unknown>).salt].filter(
          (t): t is string => typeof t === 'string' && t.length >= 6,
        )
  for (const text of texts) expect(error.message).not.toContain(text)
  return error
}

describe('werkzeug scrypt records (scrypt:N:r:p$salt$hex)', () => {
  it('parses to the parameters, the salt text as UTF-8 bytes and the 64-byte hash', () => {
    const inspection = inspectHashRecord(werkzeug('scrypt:1024:8:1'))
    expect(inspection.record).toEqual({
      algorithm: 'scrypt',
      N: 1024,
      r: 8,
      p: 1,
      salt: Buffer.from(SALT_TEXT, 'utf8'),
      hash: wzHash,
    })
    expect([inspection.format, inspection.saltReading, inspection.hashReading]).toEqual([
      'werkzeug',
      'utf8',
      'hex',
    ])
    expect(detectRecordFormat(werkzeug('scrypt:1024:8:1'))).toBe('werkzeug')
  })

  it("verifies werkzeug's default parameters (N=32768, r=8), which Node's default maxmem refuses", async () => {
    const hash = scryptOf(KEY, SALT_TEXT, 32768, 8, 1, 64)
    expect(() => scryptSync(KEY, SALT_TEXT, 64, { N: 32768, r: 8, p: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS' }),
    )
    await expect(
      verifyKeyAgainstRecord(KEY, werkzeug('scrypt:32768:8:1', hash.toString('hex'))),
    ).resolves.toBe(true)
    await expect(
      verifyKeyAgainstRecord(`${KEY}x`, werkzeug('scrypt:32768:8:1', hash.toString('hex'))),
    ).resolves.toBe(false)
  })

  it('refuses each missing parameter by name (werkzeug always writes all three)', () => {
    refusal(werkzeug('scrypt'), 'N', 'missing')
    refusal(werkzeug('scrypt:1024'), 'r', 'missing')
    refusal(werkzeug('scrypt:1024:8'), 'p', 'missing')
    refusal(werkzeug('scrypt:1024:8:1:1'), 'format', 'unrecognised')
  })

  it('refuses an N that is not a power of two above 1, or is over the cap', () => {
    refusal(werkzeug('scrypt:1000:8:1'), 'N', 'out_of_range')
    refusal(werkzeug('scrypt:1:8:1'), 'N', 'out_of_range')
    refusal(werkzeug('scrypt:01024:8:1'), 'N', 'out_of_range')
    refusal(werkzeug('scrypt:-1024:8:1'), 'N', 'out_of_range')
    refusal(werkzeug(`scrypt:${2 ** 21}:1:1`), 'N', 'out_of_range')
    refusal(werkzeug(`scrypt:${2 ** 40}:8:1`), 'N', 'out_of_range')
  })

  it('refuses r and p out of range, and parameters whose memory or work exceeds the caps', () => {
    refusal(werkzeug('scrypt:1024:0:1'), 'r', 'out_of_range')
    refusal(werkzeug(`scrypt:1024:${SCRYPT_LIMITS.maxR + 1}:1`), 'r', 'out_of_range')
    refusal(werkzeug('scrypt:1024:8:0'), 'p', 'out_of_range')
    refusal(werkzeug(`scrypt:1024:8:${SCRYPT_LIMITS.maxP + 1}`), 'p', 'out_of_range')
    // 2^20 · 8 · 128 = 1 GiB
    expect(refusal(werkzeug(`scrypt:${2 ** 20}:8:1`), 'N', 'out_of_range').message).toMatch(/1024 MiB/)
    // 64 MiB each, but 16 of them: N·r·p = 2^23
    refusal(werkzeug(`scrypt:${2 ** 16}:8:16`), 'p', 'out_of_range')
  })

  it('refuses a hash that is not exactly 64 bytes of hex, and an empty salt', () => {
    const hex = wzHash.toString('hex')
    refusal(werkzeug('scrypt:1024:8:1', hex.slice(0, 126)), 'hash', 'truncated')
    refusal(werkzeug('scrypt:1024:8:1', hex.slice(0, 127)), 'hash', 'malformed')
    refusal(werkzeug('scrypt:1024:8:1', `${hex}00`), 'hash', 'wrong_length')
    refusal(werkzeug('scrypt:1024:8:1', hex, ''), 'salt', 'empty')
    refusal(`${werkzeug('scrypt:1024:8:1')}$x`, 'format', 'unrecognised')
  })
})

describe('Django scrypt records (scrypt$N$salt$r$p$base64)', () => {
  it('parses N, the salt text, r and p in Django order, and the 64-byte base64 hash', () => {
    const inspection = inspectHashRecord(django('1024', '8', '1'))
    expect(inspection.record).toEqual({
      algorithm: 'scrypt',
      N: 1024,
      r: 8,
      p: 1,
      salt: Buffer.from(SALT_TEXT),
      hash: wzHash,
    })
    expect([inspection.format, inspection.saltReading, inspection.hashReading]).toEqual([
      'django',
      'utf8',
      'base64',
    ])
  })

  it('refuses each field by name', () => {
    refusal(django('1000', '8', '1'), 'N', 'out_of_range')
    refusal(django('1024', '0', '1'), 'r', 'out_of_range')
    refusal(django('1024', '8', 'x'), 'p', 'out_of_range')
    refusal(django('1024', '8', '1', wzHash.subarray(0, 32).toString('base64')), 'hash', 'truncated')
    refusal(django('1024', '8', '1', `${wzHash.toString('base64').slice(0, -3)}!==`), 'hash', 'malformed')
    refusal(django('1024', '8', '1', undefined, ''), 'salt', 'empty')
    refusal(`scrypt$1024$${SALT_TEXT}$8$${wzHash.toString('base64')}`, 'format', 'unrecognised')
  })
})

describe('passlib scrypt records ($scrypt$ln=L,r=R,p=P$salt$hash)', () => {
  it('parses N = 2^ln and the unpadded standard base64 salt bytes and hash', () => {
    const inspection = inspectHashRecord(passlib('ln=10,r=8,p=1'))
    expect(inspection.record).toEqual({
      algorithm: 'scrypt',
      N: 1024,
      r: 8,
      p: 1,
      salt: saltBytes,
      hash: plHash,
    })
    expect([inspection.format, inspection.saltReading]).toEqual(['passlib', 'base64'])
  })

  it('refuses each parameter by name, unknown or repeated parameters, and bad fields', () => {
    refusal(passlib('r=8,p=1'), 'N', 'missing')
    refusal(passlib('ln=0,r=8,p=1'), 'N', 'out_of_range')
    refusal(passlib('ln=21,r=8,p=1'), 'N', 'out_of_range')
    refusal(passlib('ln=10,p=1'), 'r', 'missing')
    refusal(passlib('ln=10,r=8'), 'p', 'missing')
    refusal(passlib('ln=10,r=8,p=1,x=2'), 'format', 'unsupported')
    refusal(passlib('ln=10,r=8,r=8,p=1'), 'format', 'unrecognised')
    refusal(passlib('ln=10,r=8,p=1', `${b64(saltBytes)}==`), 'salt', 'malformed')
    refusal(passlib('ln=10,r=8,p=1', undefined, b64(plHash.subarray(0, 8))), 'hash', 'too_short')
  })
})

describe('scrypt object records ({ algorithm: "scrypt", N, r, p, salt, hash })', () => {
  const object = {
    algorithm: 'scrypt',
    N: 1024,
    r: 8,
    p: 1,
    salt: saltBytes.toString('hex'),
    hash: plHash.toString('hex'),
  }

  it('parses with the salt read per saltEncoding (hex by default), and accepts n for N', () => {
    expect(parseHashRecord(object)).toEqual({
      algorithm: 'scrypt',
      N: 1024,
      r: 8,
      p: 1,
      salt: saltBytes,
      hash: plHash,
    })
    const { N: _, ...rest } = object
    expect(parseHashRecord({ ...rest, n: '1024' })).toMatchObject({ N: 1024 })
    expect(parseHashRecord({ ...object, salt: SALT_TEXT }, { saltEncoding: 'utf8' })).toMatchObject({
      salt: Buffer.from(SALT_TEXT),
    })
  })

  it('refuses missing or conflicting parameters by name', () => {
    const { r: _r, ...noR } = object
    refusal(noR, 'r', 'missing')
    refusal({ ...object, n: 2048 }, 'N', 'conflict')
    refusal({ ...object, N: 3 }, 'N', 'out_of_range')
    refusal({ ...object, p: 1.5 }, 'p', 'out_of_range')
    refusal({ ...object, salt: undefined }, 'salt', 'missing')
  })
})

describe('sha2 records', () => {
  it("parses djangorestframework-api-key's sha512$$<hex> as the SHA-512 of the key", async () => {
    const text = `sha512$$${sha512.toString('hex')}`
    const inspection = inspectHashRecord(text)
    expect(inspection.record).toEqual({ algorithm: 'sha2', digest: 'sha512', hash: sha512 })
    expect([inspection.format, inspection.saltReading, inspection.hashReading]).toEqual([
      'django',
      'none',
      'hex',
    ])
    await expect(verifyKeyAgainstRecord(KEY, text)).resolves.toBe(true)
    await expect(verifyKeyAgainstRecord(`${KEY}\n`, text)).resolves.toBe(false)
  })

  it('refuses a salted or wrong-length sha512$ record', () => {
    refusal(`sha512$abc$${sha512.toString('hex')}`, 'salt', 'unsupported')
    refusal(`sha512$$${sha256.toString('hex')}`, 'hash', 'truncated')
    refusal(`sha512$$${sha512.toString('hex')}0`, 'hash', 'malformed')
    refusal(`sha512$$$${sha512.toString('hex')}`, 'format', 'unrecognised')
  })

  it('parses object records { algorithm: sha256 | sha512, hash } in hex, base64 or base64url', () => {
    expect(parseHashRecord({ algorithm: 'sha256', hash: sha256.toString('base64') })).toEqual({
      algorithm: 'sha2',
      digest: 'sha256',
      hash: sha256,
    })
    expect(parseHashRecord({ algorithm: 'SHA-256', hash: sha256.toString('base64url') })).toMatchObject({
      digest: 'sha256',
    })
    expect(
      parseHashRecord(JSON.stringify({ algorithm: 'sha512', hash: sha512.toString('hex') })),
    ).toMatchObject({
      digest: 'sha512',
    })
    expect(parseHashRecord({ algorithm: 'sha2', digest: 'sha512', hash: sha512 })).toMatchObject({
      digest: 'sha512',
    })
  })

  it('refuses a salt, a wrong length, a conflicting digest and unknown algorithms', () => {
    refusal({ algorithm: 'sha256', hash: sha256.toString('hex'), salt: 'abcdef' }, 'salt', 'unsupported')
    refusal({ algorithm: 'sha512', hash: sha256.toString('hex') }, 'hash', 'truncated')
    refusal({ algorithm: 'sha256', hash: sha512.toString('hex') }, 'hash', 'wrong_length')
    refusal({ algorithm: 'sha256', digest: 'sha512', hash: sha256.toString('hex') }, 'digest', 'conflict')
    refusal({ algorithm: 'sha2', hash: sha256.toString('hex') }, 'digest', 'missing')
    refusal({ algorithm: 'md5', hash: sha256.toString('hex') }, 'format', 'unsupported')
    refusal({ algorithm: 'sha256' }, 'hash', 'missing')
  })

  it('compares digests in constant time and never matches an empty key', async () => {
    const empty = { algorithm: 'sha256', hash: createHash('sha256').update('').digest('hex') }
    await expect(verifyKeyAgainstRecord('', empty)).resolves.toBe(false)
    await expect(
      verifyKeyAgainstRecord(KEY, { algorithm: 'sha256', hash: sha256.toString('hex') }),
    ).resolves.toBe(true)
  })
})

describe('formatHashRecord and recordFingerprint for scrypt and sha2', () => {
  const record = parseHashRecord(werkzeug('scrypt:1024:8:1')) as ScryptRecord
  const digest = parseHashRecord({ algorithm: 'sha256', hash: sha256.toString('hex') })

  it('writes scrypt as object, JSON and the passlib/PHC $scrypt$ string, each read back to the same bytes', () => {
    const object = formatHashRecord(record, 'object')
    expect(object).toEqual({
      algorithm: 'scrypt',
      N: 1024,
      r: 8,
      p: 1,
      salt: Buffer.from(SALT_TEXT).toString('hex'),
      hash: wzHash.toString('hex'),
    })
    for (const written of [object, formatHashRecord(record, 'json'), formatHashRecord(record, 'phc')]) {
      expect(parseHashRecord(written)).toEqual(record)
    }
    expect(formatHashRecord(record, 'phc')).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$/)
  })

  it('writes sha2 as { algorithm, hash } object or JSON, and refuses a PHC form it does not have', () => {
    expect(formatHashRecord(digest, 'object')).toEqual({ algorithm: 'sha256', hash: sha256.toString('hex') })
    expect(parseHashRecord(formatHashRecord(digest, 'json'))).toEqual(digest)
    expect(() => formatHashRecord(digest, 'phc')).toThrow(TypeError)
  })

  it('gives one fingerprint per record bytes and parameters, whatever the layout', () => {
    expect(recordFingerprint(parseHashRecord(formatHashRecord(record, 'phc')))).toBe(
      recordFingerprint(record),
    )
    expect(recordFingerprint({ ...record, p: 2 })).not.toBe(recordFingerprint(record))
    expect(recordFingerprint({ ...record, N: 2048 })).not.toBe(recordFingerprint(record))
    expect(recordFingerprint({ ...record, r: 4 })).not.toBe(recordFingerprint(record))
    expect(recordFingerprint({ algorithm: 'sha2', digest: 'sha512', hash: sha512 })).not.toBe(
      recordFingerprint({ algorithm: 'sha2', digest: 'sha256', hash: sha512 }),
    )
  })
})

describe('diagnose on scrypt and sha2 records', () => {
  it('says match, trailing whitespace or wrong key, describing the family', async () => {
    const { diagnose } = await import('../../src/widget-key/diagnose.js')
    const record = werkzeug('scrypt:1024:8:1')
    const matched = await diagnose(KEY, record)
    expect([matched.match, matched.record?.parameters, matched.record?.iterations]).toEqual([
      true,
      'scrypt N=1024 r=8 p=1',
      null,
    ])
    expect((await diagnose(`${KEY}\n`, record)).tag).not.toBe('wrong_key')
    expect((await diagnose(`${KEY}x`, record)).tag).toBe('wrong_key')
    const digest = await diagnose(KEY, { algorithm: 'sha512', hash: sha512.toString('hex') })
    expect([digest.match, digest.record?.parameters, digest.record?.saltBytes]).toEqual([
      true,
      'sha512 digest of the key',
      0,
    ])
  })
})

import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  HashRecordError,
  type HashRecordField,
  type HashRecordProblem,
} from '../../src/widget-key/records/errors.js'
import { recordFingerprint } from '../../src/widget-key/records/fingerprint.js'
import { formatHashRecord } from '../../src/widget-key/records/format.js'
import {
  detectRecordFormat,
  inspectHashRecord,
  parseHashRecord as parseAnyRecord,
} from '../../src/widget-key/records/parse.js'
import type {
  HashRecord,
  HashRecordInput,
  ParseOptions,
  Pbkdf2Record,
} from '../../src/widget-key/records/types.js'

/** The PBKDF2 tests' parser: every record they build is PBKDF2, and anything else is a failure. */
function parseHashRecord(input: HashRecordInput | HashRecord, options?: ParseOptions): Pbkdf2Record {
  const record = parseAnyRecord(input, options)
  if (record.algorithm !== 'pbkdf2') throw new Error(`expected a pbkdf2 record, got ${record.algorithm}`)
  return record
}

const salt = Buffer.from('00112233445566778899aabbccddeeff', 'hex')
const hash32 = Buffer.from('b3e3c310673a54f3ae44ee21439307a2057306ead2d69dbdf357f0db4b1ef792', 'hex')
const hash64 = Buffer.concat([
  hash32,
  Buffer.from('49e191cd1b91826d6dac1cfb7f03f676a1b2c3d4e5f60718293a4b5c6d7e8f90', 'hex'),
])
const hash20 = hash32.subarray(0, 20)
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '')
const ab64 = (bytes: Buffer) => b64(bytes).replace(/\+/g, '.')

/** Runs `parse`, expects a HashRecordError naming `field`, and checks the message quotes none of `secrets`. */
function refusal(
  input: unknown,
  field: HashRecordField,
  options: ParseOptions = {},
  problem?: HashRecordProblem,
): HashRecordError {
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
  for (const text of recordTexts(input)) expect(error.message).not.toContain(text)
  return error
}

/** The hash and salt text of a record (object or string), for "never in the message" checks. */
function recordTexts(input: unknown): string[] {
  if (typeof input === 'string') {
    // salt- and hash-like runs; the method names (pbkdf2-sha256…) may be named in messages
    return (input.match(/[A-Za-z0-9+/_.-]{10,}/g) ?? []).filter((run) => !run.startsWith('pbkdf2'))
  }
  if (typeof input === 'object' && input !== null) {
    const { hash, salt } = input as Record<string, unknown>
    return [hash, salt].filter((part): part is string => typeof part === 'string' && part.length >= 6)
  }
  return []
}

const hexRecord = { hash: hash32.toString('hex'), salt: salt.toString('hex'), iter: 1000 }

describe('object records', () => {
  it('reads hex hash and hex salt bytes by default, with sha256 assumed', () => {
    expect(parseHashRecord(hexRecord)).toEqual({
      algorithm: 'pbkdf2',
      digest: 'sha256',
      iterations: 1000,
      salt,
      hash: hash32,
    })
    expect(inspectHashRecord(hexRecord)).toMatchObject({
      format: 'object',
      saltReading: 'hex',
      hashReading: 'hex',
      digestStated: false,
    })
  })

  it('uses the salt text itself as UTF-8 bytes when saltEncoding is utf8', () => {
    const record = parseHashRecord(hexRecord, { saltEncoding: 'utf8' })
    expect(record.salt).toEqual(Buffer.from(hexRecord.salt, 'utf8'))
    expect(record.salt).toHaveLength(32)
  })

  it('reads base64 and base64url salts when told, padded or not', () => {
    for (const [text, saltEncoding] of [
      [salt.toString('base64'), 'base64'],
      [b64(salt), 'base64'],
      [salt.toString('base64url'), 'base64url'],
      [`${salt.toString('base64url')}==`, 'base64url'],
    ] as const) {
      expect(parseHashRecord({ ...hexRecord, salt: text }, { saltEncoding }).salt).toEqual(salt)
    }
  })

  it('detects the hash encoding: hex in either case, base64 with +/ and base64url with -_', () => {
    const plus = Buffer.from('fbff' + hash32.toString('hex').slice(4), 'hex') // starts with +/ in base64
    const cases: Array<[string, Buffer, string]> = [
      [hash32.toString('hex').toUpperCase(), hash32, 'hex'],
      [plus.toString('base64'), plus, 'base64'],
      [b64(plus), plus, 'base64'],
      [plus.toString('base64url'), plus, 'base64url'],
    ]
    for (const [text, bytes, reading] of cases) {
      const inspection = inspectHashRecord({ ...hexRecord, hash: text })
      expect([text, inspection.record.hash.toString('hex'), inspection.hashReading]).toEqual([
        text,
        bytes.toString('hex'),
        reading,
      ])
    }
  })

  it('accepts "iterations" as well as "iter", and a decimal string count', () => {
    expect(parseHashRecord({ hash: hexRecord.hash, salt: hexRecord.salt, iterations: 2000 }).iterations).toBe(
      2000,
    )
    expect(parseHashRecord({ ...hexRecord, iter: '29000' }).iterations).toBe(29000)
    expect(parseHashRecord({ ...hexRecord, iterations: 1000 }).iterations).toBe(1000)
  })

  it('reads digest names case- and dash-insensitively, from "digest" or "alg"', () => {
    const spellings: Array<[Record<string, string>, string]> = [
      [{ digest: 'SHA-512' }, 'sha512'],
      [{ alg: 'sha512' }, 'sha512'],
      [{ digest: 'Sha-256' }, 'sha256'],
      [{ alg: 'SHA256' }, 'sha256'],
      [{ digest: 'sha-1' }, 'sha1'],
      [{ digest: 'SHA1' }, 'sha1'],
      [{ digest: 'sha_512' }, 'sha512'],
      [{ digest: 'sha512', alg: 'SHA-512' }, 'sha512'],
    ]
    for (const [fields, digest] of spellings) {
      expect(parseHashRecord({ ...hexRecord, hash: hash64.toString('hex'), ...fields }).digest).toBe(digest)
    }
  })

  it('takes dkLen from the hash, never the digest from the hash length (a 64-byte SHA-256 hash stays SHA-256)', () => {
    const record = parseHashRecord({ ...hexRecord, hash: hash64.toString('hex') })
    expect([record.digest, record.hash.length]).toEqual(['sha256', 64])
  })

  it('accepts a dklen that agrees with the hash and refuses one that does not', () => {
    expect(parseHashRecord({ ...hexRecord, dklen: 32 }).hash).toHaveLength(32)
    expect(parseHashRecord({ ...hexRecord, dkLen: '32' }).hash).toHaveLength(32)
    refusal({ ...hexRecord, dklen: 64 }, 'dklen', {}, 'truncated')
    refusal({ ...hexRecord, dklen: 16 }, 'dklen', {}, 'wrong_length')
    refusal({ ...hexRecord, dklen: 0 }, 'dklen', {}, 'out_of_range')
  })

  it('accepts bytes for hash and salt, so a parsed record parses to itself', () => {
    const parsed: HashRecord = { algorithm: 'pbkdf2', digest: 'sha512', iterations: 7, salt, hash: hash64 }
    expect(parseHashRecord(parsed)).toEqual(parsed)
    expect(inspectHashRecord(parsed)).toMatchObject({
      saltReading: 'bytes',
      hashReading: 'bytes',
      digestStated: true,
    })
  })

  it('ignores unknown fields, so a whole store row can be passed', () => {
    const row = {
      ...hexRecord,
      tenant_id: 'tenant-42',
      expiresAt: new Date(),
      origins: ['https://a.example'],
    }
    expect(parseHashRecord(row).iterations).toBe(1000)
  })

  it('refuses an odd-length hex hash instead of dropping the dangling digit', () => {
    refusal({ ...hexRecord, hash: hexRecord.hash.slice(0, -1) }, 'hash', { hashEncoding: 'hex' }, 'malformed')
    // detection must not fall back to base64 for a hex-only text of odd length (63 chars is valid base64 length)
    refusal({ ...hexRecord, hash: hexRecord.hash.slice(0, -1) }, 'hash', {}, 'malformed')
  })

  it('refuses hex with a non-hex character instead of stopping there', () => {
    refusal({ ...hexRecord, hash: `${hexRecord.hash.slice(0, 10)}zz${hexRecord.hash.slice(12)}` }, 'hash', {
      hashEncoding: 'hex',
    })
    const error = refusal({ ...hexRecord, salt: 'wPeWMSUoqU4eB9Cf' }, 'salt', {}, 'malformed')
    expect(error.message).toContain('saltEncoding "utf8"')
  })

  it('refuses characters outside the base64 alphabet, such as "." in plain base64', () => {
    const dotted = hash32.toString('base64').replace(/^./, '.')
    refusal({ ...hexRecord, hash: dotted }, 'hash', {}, 'malformed')
    refusal({ ...hexRecord, hash: dotted }, 'hash', { hashEncoding: 'base64' }, 'malformed')
    refusal(
      {
        ...hexRecord,
        hash: `${hash32.toString('base64').slice(0, 20)} ${hash32.toString('base64').slice(20)}`,
      },
      'hash',
    )
  })

  it('refuses the other alphabet when an encoding is stated, and a mix of both alphabets when detecting', () => {
    const url = Buffer.from('fbff' + hash32.toString('hex').slice(4), 'hex').toString('base64url') // contains - or _
    refusal({ ...hexRecord, hash: url }, 'hash', { hashEncoding: 'base64' }, 'malformed')
    refusal({ ...hexRecord, hash: `+${url.slice(1)}` }, 'hash', {}, 'malformed')
    refusal({ ...hexRecord, salt: '+/8=' }, 'salt', { saltEncoding: 'base64url' }, 'malformed')
  })

  it('refuses wrong padding and non-canonical trailing bits in base64', () => {
    const text = hash32.toString('base64') // 43 characters and one "="
    refusal({ ...hexRecord, hash: `${text}=` }, 'hash', { hashEncoding: 'base64' })
    refusal({ ...hexRecord, hash: `${text.slice(0, -1)}` + '==' }, 'hash', { hashEncoding: 'base64' })
    const last = text.at(-2)!
    const sibling = String.fromCharCode(last.charCodeAt(0) + 1) // same bytes, other unused bits
    refusal(
      { ...hexRecord, hash: `${text.slice(0, -2)}${sibling}=` },
      'hash',
      { hashEncoding: 'base64' },
      'malformed',
    )
  })

  it('refuses hashes under 16 bytes and accepts exactly 16', () => {
    refusal({ ...hexRecord, hash: hash32.subarray(0, 8).toString('hex') }, 'hash', {}, 'too_short')
    refusal({ ...hexRecord, hash: hash32.subarray(0, 15).toString('hex') }, 'hash', {}, 'too_short')
    expect(parseHashRecord({ ...hexRecord, hash: hash32.subarray(0, 16).toString('hex') }).hash).toHaveLength(
      16,
    )
  })

  it('refuses iteration counts that are not positive integers', () => {
    for (const iter of [
      0,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 31,
      '0',
      '01000',
      '1e3',
      '1000.0',
      ' 1000',
      '',
      true,
      null,
      {},
    ]) {
      refusal({ hash: hexRecord.hash, salt: hexRecord.salt, iter }, 'iterations')
    }
  })

  it('refuses "iter" and "iterations", or "digest" and "alg", that disagree', () => {
    refusal({ ...hexRecord, iterations: 2000 }, 'iterations', {}, 'conflict')
    refusal({ ...hexRecord, digest: 'sha256', alg: 'sha512' }, 'digest', {}, 'conflict')
  })

  it('refuses unknown digests and algorithms other than pbkdf2', () => {
    refusal({ ...hexRecord, digest: 'md5' }, 'digest', {}, 'unsupported')
    refusal({ ...hexRecord, alg: 'sha384' }, 'digest', {}, 'unsupported')
    refusal({ ...hexRecord, digest: 256 }, 'digest', {}, 'wrong_type')
    refusal({ ...hexRecord, algorithm: 'bcrypt' }, 'format', {}, 'unsupported')
    expect(parseHashRecord({ ...hexRecord, algorithm: 'PBKDF2' }).iterations).toBe(1000)
  })

  it('names a missing or mistyped hash, salt or count', () => {
    refusal({ salt: hexRecord.salt, iter: 1000 }, 'hash', {}, 'missing')
    refusal({ hash: hexRecord.hash, iter: 1000 }, 'salt', {}, 'missing')
    refusal({ hash: hexRecord.hash, salt: hexRecord.salt }, 'iterations', {}, 'missing')
    refusal({ ...hexRecord, hash: 42 }, 'hash', {}, 'wrong_type')
    refusal({ ...hexRecord, salt: ['00'] }, 'salt', {}, 'wrong_type')
    refusal({ ...hexRecord, salt: '' }, 'salt', { saltEncoding: 'utf8' }, 'empty')
    refusal({ ...hexRecord, hash: '' }, 'hash', {}, 'empty')
    refusal({ ...hexRecord, salt: '\ud800abc' }, 'salt', { saltEncoding: 'utf8' }, 'malformed')
  })
})

describe('JSON string records', () => {
  it('parses compact and pretty-printed JSON as object records, with leading whitespace', () => {
    expect(parseHashRecord(JSON.stringify(hexRecord))).toEqual(parseHashRecord(hexRecord))
    expect(inspectHashRecord(`\n  ${JSON.stringify(hexRecord, null, 2)}`).format).toBe('json-string')
  })

  it('applies saltEncoding to JSON records as to objects', () => {
    expect(parseHashRecord(JSON.stringify(hexRecord), { saltEncoding: 'utf8' }).salt).toHaveLength(32)
  })

  it('refuses invalid JSON and JSON that is not an object, without quoting it', () => {
    const broken = `{"hash": "${hexRecord.hash}", "salt": "${hexRecord.salt}", "iter": 1000`
    const error = refusal(broken, 'format', {}, 'unrecognised')
    expect(error.message).not.toContain(hexRecord.hash)
    refusal('{', 'format')
    refusal(`[${JSON.stringify(hexRecord)}]`, 'format')
  })
})

describe('PHC strings', () => {
  const phc = (params: string, s = b64(salt), h = b64(hash32), id = 'pbkdf2-sha256') =>
    `$${id}$${params}$${s}$${h}`

  it('reads i= and l=, with unpadded standard base64 salt bytes', () => {
    expect(parseHashRecord(phc('i=1000,l=32'))).toEqual({
      algorithm: 'pbkdf2',
      digest: 'sha256',
      iterations: 1000,
      salt,
      hash: hash32,
    })
    expect(inspectHashRecord(phc('i=1000,l=32')).format).toBe('phc')
  })

  it('takes dkLen from the hash without l=, and allows l= beyond the digest size', () => {
    expect(parseHashRecord(phc('i=1000')).hash).toHaveLength(32)
    const forty = hash64.subarray(0, 40)
    expect(parseHashRecord(phc('i=4096,l=40', b64(salt), b64(forty))).hash).toEqual(forty)
  })

  it('reads pbkdf2-sha512, and bare pbkdf2 as SHA-1', () => {
    expect(parseHashRecord(phc('i=5', b64(salt), b64(hash64), 'pbkdf2-sha512')).digest).toBe('sha512')
    expect(parseHashRecord(phc('i=5', b64(salt), b64(hash20), 'pbkdf2')).digest).toBe('sha1')
  })

  it('accepts base64url fields as well', () => {
    const plus = Buffer.from('fbff' + hash32.toString('hex').slice(4), 'hex')
    expect(
      parseHashRecord(phc('i=1000,l=32', salt.toString('base64url'), plus.toString('base64url'))).hash,
    ).toEqual(plus)
  })

  it('refuses a hash shorter or longer than l= states', () => {
    refusal(phc('i=1000,l=32', b64(salt), b64(hash32.subarray(0, 24))), 'dklen', {}, 'truncated')
    refusal(phc('i=1000,l=32', b64(salt), b64(hash64)), 'dklen', {}, 'wrong_length')
  })

  it('refuses padding, a missing i=, unknown or repeated parameters, and a bad count', () => {
    refusal(phc('i=1000', salt.toString('base64')), 'salt', {}, 'malformed')
    refusal(phc('l=32'), 'iterations', {}, 'missing')
    refusal(phc('i=1000,m=64'), 'format', {}, 'unsupported')
    refusal(phc('i=1000,i=2000'), 'format')
    refusal(phc('i=0'), 'iterations')
    refusal(phc('i=abc'), 'iterations')
    refusal(`${phc('i=1000')}$extra`, 'format')
    refusal(phc('i=1000', b64(salt), b64(hash32), 'pbkdf2-md5'), 'digest', {}, 'unsupported')
  })
})

describe('passlib records', () => {
  it('reads rounds and adapted-base64 salt and checksum, including "."', () => {
    const dotted = Buffer.from('fbef' + hash32.toString('hex').slice(4), 'hex') // ab64 starts with "."
    expect(ab64(dotted)).toMatch(/^\./)
    const text = `$pbkdf2-sha256$29000$${ab64(salt)}$${ab64(dotted)}`
    expect(parseHashRecord(text)).toEqual({
      algorithm: 'pbkdf2',
      digest: 'sha256',
      iterations: 29000,
      salt,
      hash: dotted,
    })
    expect(inspectHashRecord(text)).toMatchObject({ format: 'passlib', saltReading: 'ab64' })
  })

  it('reads $pbkdf2$ as SHA-1 and $pbkdf2-sha512$ as SHA-512', () => {
    expect(parseHashRecord(`$pbkdf2$1000$${ab64(salt)}$${ab64(hash20)}`).digest).toBe('sha1')
    expect(parseHashRecord(`$pbkdf2-sha512$25000$${ab64(salt)}$${ab64(hash64)}`).digest).toBe('sha512')
  })

  it('refuses a checksum whose length is not the digest size (passlib fixes dkLen)', () => {
    refusal(`$pbkdf2-sha256$1000$${ab64(salt)}$${ab64(hash64)}`, 'hash', {}, 'wrong_length')
    refusal(`$pbkdf2-sha512$1000$${ab64(salt)}$${ab64(hash32)}`, 'hash', {}, 'truncated')
  })

  it('refuses "+" and padding, which passlib never writes', () => {
    const plus = Buffer.from('fbef' + hash32.toString('hex').slice(4), 'hex')
    refusal(`$pbkdf2-sha256$1000$${ab64(salt)}$${b64(plus)}`, 'hash', {}, 'malformed')
    refusal(`$pbkdf2-sha256$1000$${salt.toString('base64')}$${ab64(hash32)}`, 'salt', {}, 'malformed')
  })
})

describe('Django records', () => {
  it('reads the salt as its text and the hash as padded base64', () => {
    const text = `pbkdf2_sha256$1000$BWQgOINEZWgBIIKXbLO5WU$${hash32.toString('base64')}`
    expect(parseHashRecord(text)).toEqual({
      algorithm: 'pbkdf2',
      digest: 'sha256',
      iterations: 1000,
      salt: Buffer.from('BWQgOINEZWgBIIKXbLO5WU'),
      hash: hash32,
    })
    expect(parseHashRecord(`pbkdf2_sha1$1000$abc$${hash20.toString('base64')}`).digest).toBe('sha1')
  })

  it('refuses a hash of another length, a non-base64 hash and an empty salt', () => {
    refusal(`pbkdf2_sha256$1000$abc$${hash64.toString('base64')}`, 'hash', {}, 'wrong_length')
    refusal(`pbkdf2_sha256$1000$abc$${hash32.toString('base64url')}A`, 'hash')
    refusal(`pbkdf2_sha256$1000$$${hash32.toString('base64')}`, 'salt', {}, 'empty')
    refusal(`pbkdf2_sha256$$abc$${hash32.toString('base64')}`, 'iterations')
    refusal(`pbkdf2_md5$1000$abc$${hash32.toString('base64')}`, 'digest')
  })
})

describe('werkzeug records', () => {
  it('reads the count from the method, the salt as its text and the hash as hex', () => {
    const text = `pbkdf2:sha256:260000$yjnqyZSEqnPwoBAN$${hash32.toString('hex')}`
    expect(parseHashRecord(text)).toEqual({
      algorithm: 'pbkdf2',
      digest: 'sha256',
      iterations: 260000,
      salt: Buffer.from('yjnqyZSEqnPwoBAN'),
      hash: hash32,
    })
    expect(parseHashRecord(`pbkdf2:sha512:5000$abc$${hash64.toString('hex')}`).digest).toBe('sha512')
  })

  it('refuses a record without a count, whose meaning depends on the werkzeug version', () => {
    const error = refusal(
      `pbkdf2:sha256$yjnqyZSEqnPwoBAN$${hash32.toString('hex')}`,
      'iterations',
      {},
      'missing',
    )
    expect(error.message).toMatch(/version/)
  })

  it('refuses a hash cut short by a narrow column (werkzeug fixes dkLen)', () => {
    const full = `pbkdf2:sha256:1000$yjnqyZSEqnPwoBAN$${hash32.toString('hex')}`
    refusal(full.slice(0, 96), 'hash', {}, 'truncated')
    refusal(full.slice(0, 95), 'hash', {}, 'malformed')
  })

  it('refuses other methods and extra fields', () => {
    refusal(`plain:sha256$abc$${hash32.toString('hex')}`, 'format', {}, 'unrecognised')
    refusal(`pbkdf2:sha256:1000:9$abc$${hash32.toString('hex')}`, 'format')
    refusal(`pbkdf2:sha256:1000$abc$${hash32.toString('hex')}$x`, 'format')
  })
})

describe('format detection', () => {
  it('tells the layouts apart by their start, as the vectors README tabulates', () => {
    expect(detectRecordFormat('{"hash":1}')).toBe('json-string')
    expect(detectRecordFormat('$pbkdf2-sha256$i=1000$a$b')).toBe('phc')
    expect(detectRecordFormat('$pbkdf2-sha256$1000$a$b')).toBe('passlib')
    expect(detectRecordFormat('pbkdf2_sha256$1000$a$b')).toBe('django')
    expect(detectRecordFormat('pbkdf2:sha256:1000$a$b')).toBe('werkzeug')
    expect(detectRecordFormat('$2b$12$abc')).toBeUndefined()
  })

  it('tolerates whitespace around a stored record string', () => {
    expect(parseHashRecord(`  pbkdf2:sha256:1000$abc$${hash32.toString('hex')}\n`).salt).toEqual(
      Buffer.from('abc'),
    )
  })

  it('refuses unknown strings, empty strings and non-record values with field "format"', () => {
    refusal('$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW', 'format', {}, 'unrecognised')
    refusal('', 'format')
    refusal('   ', 'format')
    refusal(42, 'format', {}, 'wrong_type')
    refusal(null, 'format', {}, 'wrong_type')
    refusal(undefined, 'format', {}, 'wrong_type')
    refusal([hexRecord], 'format')
  })

  it('throws a TypeError (not a record error) for invalid options', () => {
    expect(() => parseHashRecord(hexRecord, { saltEncoding: 'latin1' as never })).toThrow(TypeError)
    expect(() => parseHashRecord(hexRecord, { hashEncoding: 'utf8' as never })).toThrow(/hashEncoding/)
  })
})

describe('HashRecordError', () => {
  it('is an Error with reason record_invalid, a field and a problem, recognisable across copies', () => {
    const error = refusal({ ...hexRecord, iter: 0 }, 'iterations')
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('HashRecordError')
    expect(HashRecordError.is(error)).toBe(true)
    expect(HashRecordError.is(new Error('x'))).toBe(false)
    expect(error.format).toBe('object')
    expectTypeOf(error.field).toEqualTypeOf<HashRecordField>()
    expectTypeOf(error.reason).toEqualTypeOf<'record_invalid'>()
  })
})

describe('formatHashRecord', () => {
  const record: HashRecord = { algorithm: 'pbkdf2', digest: 'sha256', iterations: 1000, salt, hash: hash32 }

  it('writes the object form with hex fields that parses back with default options', () => {
    const object = formatHashRecord(record, 'object')
    expect(object).toEqual({
      hash: hash32.toString('hex'),
      salt: salt.toString('hex'),
      iterations: 1000,
      digest: 'sha256',
    })
    expect(parseHashRecord(object)).toEqual(record)
  })

  it('writes JSON text and PHC strings that parse back to the same record', () => {
    expect(parseHashRecord(formatHashRecord(record, 'json'))).toEqual(record)
    const phc = formatHashRecord(record, 'phc')
    expect(phc).toBe(`$pbkdf2-sha256$i=1000,l=32$${b64(salt)}$${b64(hash32)}`)
    expect(parseHashRecord(phc)).toEqual(record)
    const sha1 = { ...record, digest: 'sha1' as const, hash: hash20 }
    expect(formatHashRecord(sha1, 'phc')).toMatch(/^\$pbkdf2\$i=1000,l=20\$/)
    expect(parseHashRecord(formatHashRecord(sha1, 'phc'))).toEqual(sha1)
  })

  it('refuses to write an invalid record', () => {
    expect(() => formatHashRecord({ ...record, hash: hash32.subarray(0, 8) }, 'phc')).toThrow(HashRecordError)
    expect(() => formatHashRecord({ ...record, iterations: 0 }, 'json')).toThrow(HashRecordError)
  })
})

describe('recordFingerprint', () => {
  const record: HashRecord = { algorithm: 'pbkdf2', digest: 'sha256', iterations: 1000, salt, hash: hash32 }

  it('is a short rec_ id that is the same for every layout of the same bytes', () => {
    const id = recordFingerprint(record)
    expect(id).toMatch(/^rec_[0-9a-f]{12}$/)
    expect(recordFingerprint(parseHashRecord(formatHashRecord(record, 'phc')))).toBe(id)
    expect(recordFingerprint(parseHashRecord(formatHashRecord(record, 'json')))).toBe(id)
  })

  it('changes when the digest, count, salt or hash changes, and reveals neither', () => {
    const id = recordFingerprint(record)
    const variants: HashRecord[] = [
      { ...record, digest: 'sha512' },
      { ...record, iterations: 1001 },
      { ...record, salt: randomBytes(16) },
      { ...record, hash: pbkdf2Sync('x', salt, 1, 32, 'sha256') },
    ]
    for (const variant of variants) expect(recordFingerprint(variant)).not.toBe(id)
    expect(id).not.toContain(hash32.toString('hex').slice(0, 12))
    expect(id).not.toContain(salt.toString('hex').slice(0, 12))
  })
})

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { verifyKeyAgainstRecord } from '../../src/widget-key/pbkdf2.js'
import { HashRecordError } from '../../src/widget-key/records/errors.js'
import { parseHashRecord } from '../../src/widget-key/records/parse.js'
import { FIXTURES_URL, loadCases, optionsFor, SAMPLE_URL, skipSlow, type VectorCase } from './vectors.js'

const INTERPRETATIONS: Record<string, string> = {
  hex: 'hex-bytes',
  utf8: 'utf8-string',
  base64: 'base64-bytes',
  base64url: 'base64url-bytes',
  ab64: 'ab64-bytes',
}

/** j10-style cases: the bytes decode, but a hash under 16 bytes is refused as a record fault by policy. */
const refusedAsTooShort = (c: VectorCase) => c.diagnosis === 'hash_too_short'

function parsedView(record: ReturnType<typeof parseHashRecord>) {
  if (record.algorithm !== 'pbkdf2') return { algorithm: record.algorithm }
  return {
    digest: record.digest,
    iterations: record.iterations,
    dklen: record.hash.length,
    salt_hex: record.salt.toString('hex'),
    hash_hex: record.hash.toString('hex'),
  }
}

function caseTests(cases: VectorCase[]): void {
  for (const c of cases) {
    const options = optionsFor(c)
    const run = c.slow && skipSlow ? it.skip : it

    it(`${c.id}: names a salt interpretation that agrees with its salt encoding`, () => {
      expect(c.salt_interpretation).toBe(INTERPRETATIONS[c.encoding.salt])
    })

    if (c.parsed !== null && !refusedAsTooShort(c)) {
      it(`${c.id}: parses to exactly the bytes its writer fed to PBKDF2`, () => {
        expect(parsedView(parseHashRecord(c.record, options))).toEqual(c.parsed)
      })
    } else {
      it(`${c.id}: is refused as an invalid record, naming the hash or dkLen`, () => {
        let thrown: unknown
        try {
          parseHashRecord(c.record, options)
        } catch (error) {
          thrown = error
        }
        expect(thrown).toBeInstanceOf(HashRecordError)
        const error = thrown as HashRecordError
        expect(error.reason).toBe('record_invalid')
        expect(['hash', 'dklen']).toContain(error.field)
        if (refusedAsTooShort(c)) expect(error.problem).toBe('too_short')
      })
    }

    if (c.expect === 'match') {
      run(`${c.id}: the presented key matches the ${c.format} record`, async () => {
        await expect(verifyKeyAgainstRecord(c.key, c.record, options)).resolves.toBe(true)
      })
    } else if ((c.parsed === null || refusedAsTooShort(c)) && c.key !== '') {
      run(`${c.id}: verification rejects with HashRecordError instead of answering`, async () => {
        await expect(verifyKeyAgainstRecord(c.key, c.record, options)).rejects.toBeInstanceOf(HashRecordError)
      })
    } else {
      run(`${c.id}: the presented key does not match (${c.mismatch_class})`, async () => {
        await expect(verifyKeyAgainstRecord(c.key, c.record, options)).resolves.toBe(false)
      })
    }
  }
}

const fixtures = loadCases(FIXTURES_URL)

describe('test/fixtures/pbkdf2-records.json', () => {
  it('covers every family a–j with both matching and mismatching cases', () => {
    for (const family of 'abcdefghij') {
      const expects = new Set(fixtures.filter((c) => c.family === family).map((c) => c.expect))
      expect([family, [...expects].sort()]).toEqual([family, ['match', 'mismatch']])
    }
  })

  it('includes records from every writer: hashlib, passlib, werkzeug, Django and PHC strings', () => {
    expect(new Set(fixtures.map((c) => c.source))).toEqual(
      new Set(['python-hashlib', 'passlib', 'werkzeug', 'django', 'phc']),
    )
  })

  caseTests(fixtures)
})

describe('shared vectors: sample.json (vendored in test/fixtures)', () => {
  const sample = loadCases(SAMPLE_URL)

  it('is the copy its provenance note describes, byte for byte', () => {
    const note = readFileSync(new URL('../fixtures/shared-vectors.md', import.meta.url), 'utf8')
    const recorded = /SHA-256 of the file: `([0-9a-f]{64})`/.exec(note)?.[1]
    expect(recorded, 'the note records a checksum').toBeDefined()
    expect(createHash('sha256').update(readFileSync(SAMPLE_URL)).digest('hex')).toBe(recorded)
    expect(sample).toHaveLength(15)
  })

  caseTests(sample)
})

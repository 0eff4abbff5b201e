import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { run as doctor } from '../../src/cli/doctor.js'
import type { CliIO } from '../../src/cli/io.js'
import { fingerprint } from '../../src/core/fingerprint.js'
import { diagnose } from '../../src/widget-key/diagnose.js'
import type { Diagnosis } from '../../src/widget-key/diagnosis.js'
import { findSecret, secret } from '../helpers/secrets.js'
import { FIXTURES_URL, loadCases, optionsFor, SAMPLE_URL, skipSlow, type VectorCase } from './vectors.js'

const fixtures = loadCases(FIXTURES_URL)
const sample = loadCases(SAMPLE_URL)
const byId = (id: string) => fixtures.find((c) => c.id.startsWith(`${id}-`))!

/** The vectors' would_match_with, in the shape a Diagnosis reports it (keys by fingerprint only). */
function expectedHint(c: VectorCase): unknown {
  const hint = c.would_match_with
  if (hint === null) return null
  if ('key' in hint)
    return { key: expect.objectContaining({ fingerprint: fingerprint(hint.key), length: hint.key.length }) }
  if ('salt_interpretation' in hint)
    return { saltInterpretation: hint.salt_interpretation, encoding: hint.encoding }
  return hint
}

function expectNoKeyIn(diagnosis: Diagnosis): void {
  const text = JSON.stringify(diagnosis)
  expect(findSecret(text), 'a key appears in the diagnosis').toBeUndefined()
}

describe('diagnose', () => {
  const mismatches = [...fixtures, ...sample].filter((c) => c.expect === 'mismatch')
  for (const c of mismatches) {
    it(`names ${c.diagnosis} and the change ${JSON.stringify(Object.keys(c.would_match_with ?? {}))} for ${c.id}`, async () => {
      const diagnosis = await diagnose(c.key, c.record, optionsFor(c))
      expect(diagnosis.match).toBe(false)
      expect(diagnosis.tag).toBe(c.diagnosis)
      expect(diagnosis.wouldMatchWith).toEqual(expectedHint(c))
      expect(diagnosis.derivations).toBeLessThanOrEqual(25)
      expectNoKeyIn(diagnosis)
    })
  }

  const matches = fixtures.filter((c) => c.expect === 'match')
  for (const c of matches) {
    const run = c.slow && skipSlow ? it.skip : it
    run(`reports a match, with one derivation and the record's parameters, for ${c.id}`, async () => {
      const diagnosis = await diagnose(c.key, c.record, optionsFor(c))
      expect({ match: diagnosis.match, tag: diagnosis.tag, derivations: diagnosis.derivations }).toEqual({
        match: true,
        tag: null,
        derivations: 1,
      })
      expect(diagnosis.record).toMatchObject({
        digest: c.parsed!.digest,
        iterations: c.parsed!.iterations,
        dkLen: c.parsed!.dklen,
        saltBytes: c.parsed!.salt_hex.length / 2,
      })
      expectNoKeyIn(diagnosis)
    })
  }

  it('finds the utf8 salt of a record whose salt is not hex at all, read with the default options', async () => {
    const c = byId('b5')
    const diagnosis = await diagnose(c.key, c.record)
    expect(diagnosis.recordError).toMatchObject({ field: 'salt', problem: 'malformed' })
    expect(diagnosis.tag).toBe('salt_interpretation')
    expect(diagnosis.wouldMatchWith).toEqual({
      saltInterpretation: 'utf8-string',
      encoding: { salt: 'utf8', hash: 'hex' },
    })
  })

  it('finds the hash encoding when a hex hash is read as base64', async () => {
    const c = byId('a1')
    const diagnosis = await diagnose(c.key, c.record, { hashEncoding: 'base64' })
    expect(diagnosis.tag).toBe('hash_encoding')
    expect(diagnosis.wouldMatchWith).toEqual({ hashEncoding: 'hex' })
  })

  it('says which field is wrong for a record that cannot be used for another reason', async () => {
    const c = byId('a1')
    const record = { ...(c.record as Record<string, unknown>), iter: 0 }
    const diagnosis = await diagnose(c.key, record)
    expect(diagnosis).toMatchObject({ match: false, tag: 'record_invalid', record: null, derivations: 0 })
    expect(diagnosis.recordError).toMatchObject({ field: 'iterations', problem: 'out_of_range' })
    expect(diagnosis.explanation).toMatch(/server_misconfigured/)
  })

  it('describes the presented key by fingerprint, length and whitespace only', async () => {
    const c = byId('j2')
    const diagnosis = await diagnose(c.key, c.record, optionsFor(c))
    expect(diagnosis.key).toEqual({
      fingerprint: fingerprint(c.key),
      length: c.key.length,
      leadingWhitespace: false,
      trailingWhitespace: true,
    })
    expect(diagnosis.explanation).toMatch(/trailing whitespace \(\\n\)/)
  })

  it('keeps the iteration search within maxSearchIterations', async () => {
    const c = byId('j1')
    const full = await diagnose(c.key, c.record, optionsFor(c))
    const bounded = await diagnose(c.key, c.record, { ...optionsFor(c), maxSearchIterations: 10_000 })
    expect(bounded.tag).toBe('wrong_key')
    expect(bounded.derivations).toBeLessThan(full.derivations)
  })

  it('throws a TypeError for invalid options', async () => {
    const c = byId('a1')
    await expect(diagnose(c.key, c.record, { saltEncoding: 'latin1' as never })).rejects.toThrow(TypeError)
    await expect(diagnose(c.key, c.record, { maxSearchIterations: 0 })).rejects.toThrow(/maxSearchIterations/)
  })
})

const dir = mkdtempSync(join(tmpdir(), 'keyward-doctor-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

function fakeIO(stdin = ''): { io: CliIO; output: () => string; stdout: () => string } {
  let stdout = ''
  let stderr = ''
  return {
    io: {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      readStdin: async () => stdin,
      env: {},
    },
    output: () => stdout + stderr,
    stdout: () => stdout,
  }
}

async function runDoctor(
  args: string[],
  stdin = '',
): Promise<{ code: number; output: string; stdout: string }> {
  const { io, output, stdout } = fakeIO(stdin)
  const code = await doctor(args, io)
  expect(findSecret(output()), 'the doctor printed a key').toBeUndefined()
  return { code, output: output(), stdout: stdout() }
}

describe('keyward doctor', () => {
  const g1 = byId('g1')
  const b1 = byId('b1')
  const j2 = byId('j2')

  it('exits 0 and says match when the key file matches the record', async () => {
    const { code, output } = await runDoctor([
      '--key-file',
      file('g1.key', g1.key),
      '--record',
      g1.record as string,
    ])
    expect(code).toBe(0)
    expect(output).toMatch(/result: +match/)
    expect(output).toContain(fingerprint(g1.key))
    expect(output).toContain('werkzeug')
  })

  it('reads the key from standard input when no key file is given', async () => {
    const { code } = await runDoctor(['--record', g1.record as string], g1.key)
    expect(code).toBe(0)
  })

  it('reads the record from a file and applies --salt-encoding', async () => {
    const record = file('b1.json', `${JSON.stringify(b1.record)}\n`)
    expect(
      (
        await runDoctor([
          '--key-file',
          file('b1.key', b1.key),
          '--record-file',
          record,
          '--salt-encoding',
          'utf8',
        ])
      ).code,
    ).toBe(0)
    const hex = await runDoctor(['--key-file', file('b1.key', b1.key), '--record-file', record])
    expect(hex.code).toBe(1)
    expect(hex.output).toContain('salt_interpretation')
  })

  it('exits 1 and names the trailing newline of a key file written by echo', async () => {
    const { code, output } = await runDoctor([
      '--key-file',
      file('j2.key', j2.key),
      '--record',
      JSON.stringify(j2.record),
    ])
    expect(code).toBe(1)
    expect(output).toContain('presented_key_whitespace')
    expect(output).toContain('trailing whitespace')
  })

  it('exits 1 for an invalid record and names the field', async () => {
    const j7 = byId('j7')
    const { code, output } = await runDoctor([
      '--key-file',
      file('j7.key', j7.key),
      '--record',
      JSON.stringify(j7.record),
    ])
    expect(code).toBe(1)
    expect(output).toContain('malformed_hash')
    expect(output).toMatch(/record: +invalid \(hash: malformed\)/)
  })

  it('prints the diagnosis as JSON with --json', async () => {
    const { code, stdout } = await runDoctor([
      '--json',
      '--key-file',
      file('j2.key', j2.key),
      '--record',
      JSON.stringify(j2.record),
    ])
    expect(code).toBe(1)
    expect(JSON.parse(stdout)).toMatchObject({ match: false, tag: 'presented_key_whitespace' })
  })

  it('exits 2 for missing or unreadable input and bad options', async () => {
    const key = file('g1.key', g1.key)
    const cases: string[][] = [
      ['--key-file', key],
      ['--key-file', key, '--record', 'x', '--record-file', key],
      ['--key-file', join(dir, 'missing.key'), '--record', g1.record as string],
      ['--key-file', key, '--record-file', join(dir, 'missing.json')],
      ['--key-file', key, '--record', g1.record as string, '--salt-encoding', 'latin1'],
      ['--key-file', key, '--record', g1.record as string, '--hash-encoding', 'utf8'],
      ['--key-file', key, '--record', g1.record as string, '--verbose'],
      ['--key-file'],
    ]
    for (const args of cases) {
      const { code, output } = await runDoctor(args)
      expect([args.join(' '), code]).toEqual([args.join(' '), 2])
      expect(output).toMatch(/keyward doctor: /)
    }
  })

  it('exits 2 without a key on standard input', async () => {
    const { code, output } = await runDoctor(['--record', g1.record as string], '')
    expect(code).toBe(2)
    expect(output).toMatch(/no key/)
  })

  it('refuses a key on the command line without repeating it', async () => {
    for (const args of [
      ['--key', g1.key, '--record', g1.record as string],
      [`--key=${g1.key}`, '--record', g1.record as string],
      [g1.key, '--record', g1.record as string],
    ]) {
      const { code } = await runDoctor(args)
      expect(code).toBe(2)
    }
  })

  it('prints its usage with --help and exits 0', async () => {
    const { code, stdout } = await runDoctor(['--help'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/--key-file FILE/)
    expect(stdout).toMatch(/Exit status/)
  })

  it('never prints the key, whatever the outcome', async () => {
    secret(g1.key)
    for (const c of [g1, j2, byId('j1'), byId('j5'), byId('j8')]) {
      const options = optionsFor(c)
      const args = [
        '--key-file',
        file(`${c.id}.key`, c.key),
        '--record',
        typeof c.record === 'string' ? c.record : JSON.stringify(c.record),
      ]
      if (options.saltEncoding) args.push('--salt-encoding', options.saltEncoding)
      for (const json of [[], ['--json']]) {
        const { output } = await runDoctor([...args, ...json])
        expect(output).not.toContain(c.key.trim())
      }
    }
  })
})

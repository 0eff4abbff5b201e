import { describe, expect, it } from 'vitest'
import { run as createWidgetKeyCommand } from '../../src/cli/create-widget-key.js'
import type { CliIO } from '../../src/cli/io.js'
import { fingerprint } from '../../src/core/fingerprint.js'
import {
  checkWidgetKeyShape,
  createWidgetKey,
  DEFAULT_WIDGET_KEY_PREFIX,
  WIDGET_KEY_LENGTH_AFTER_PREFIX,
} from '../../src/widget-key/keys.js'
import { derive, hashWidgetKey, verifyKeyAgainstRecord } from '../../src/widget-key/pbkdf2.js'
import { HashRecordError } from '../../src/widget-key/records/errors.js'
import { formatHashRecord } from '../../src/widget-key/records/format.js'
import { parseHashRecord } from '../../src/widget-key/records/parse.js'
import { secret } from '../helpers/secrets.js'

const URLSAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The same key with character `i` replaced by another URL-safe character. */
function withCharChanged(key: string, i: number): string {
  const next = URLSAFE[(URLSAFE.indexOf(key[i]!) + 1) % URLSAFE.length]!
  return key.slice(0, i) + next + key.slice(i + 1)
}

describe('createWidgetKey', () => {
  it('makes a wid_ key of 32 URL-safe characters whose record verifies it, in every stored layout', async () => {
    const created = await createWidgetKey({ iterations: 1000 })
    const key = secret(created.key)
    expect(key).toMatch(/^wid_[A-Za-z0-9_-]{32}$/)
    expect(created.fingerprint).toBe(fingerprint(key))
    expect(created.record).toMatchObject({ algorithm: 'pbkdf2', digest: 'sha256', iterations: 1000 })
    expect(created.record.salt).toHaveLength(16)
    expect(created.record.hash).toHaveLength(32)
    for (const format of ['object', 'json', 'phc'] as const) {
      await expect(verifyKeyAgainstRecord(key, formatHashRecord(created.record, format))).resolves.toBe(true)
    }
    await expect(verifyKeyAgainstRecord(withCharChanged(key, 10), created.record)).resolves.toBe(false)
  })

  it('defaults to 600,000 iterations (OWASP 2023 for PBKDF2-HMAC-SHA256)', async () => {
    const created = await createWidgetKey()
    secret(created.key)
    expect(created.record.iterations).toBe(600_000)
  })

  it('uses the given prefix and digest, and makes a different key every time', async () => {
    const a = await createWidgetKey({ prefix: 'acme_live_', iterations: 1000, digest: 'sha512' })
    const b = await createWidgetKey({ prefix: 'acme_live_', iterations: 1000, digest: 'sha512' })
    secret(a.key)
    secret(b.key)
    expect(a.key.startsWith('acme_live_')).toBe(true)
    expect(a.key).toHaveLength('acme_live_'.length + WIDGET_KEY_LENGTH_AFTER_PREFIX)
    expect(a.record.digest).toBe('sha512')
    expect(a.record.hash).toHaveLength(64)
    expect(a.key).not.toBe(b.key)
    expect(a.record.salt.equals(b.record.salt)).toBe(false)
  })

  it('refuses an empty or unsafe prefix with a TypeError naming the option', async () => {
    await expect(createWidgetKey({ prefix: '' })).rejects.toThrow(/"prefix"/)
    await expect(createWidgetKey({ prefix: 'wid key ' })).rejects.toThrow(TypeError)
    await expect(createWidgetKey({ iterations: 0 })).rejects.toThrow(/"iterations"/)
  })
})

describe('checkWidgetKeyShape', () => {
  it('accepts a generated key under its prefix', async () => {
    const { key } = await createWidgetKey({ iterations: 1 })
    expect(checkWidgetKeyShape(secret(key), DEFAULT_WIDGET_KEY_PREFIX)).toEqual({ ok: true })
  })

  it('detects any one-character change in a generated key as key_checksum_invalid', async () => {
    const { key } = await createWidgetKey({ iterations: 1 })
    secret(key)
    for (let i = DEFAULT_WIDGET_KEY_PREFIX.length; i < key.length; i++) {
      const changed = withCharChanged(key, i)
      expect([i, checkWidgetKeyShape(changed, 'wid_')]).toEqual([
        i,
        { ok: false, reason: 'key_checksum_invalid' },
      ])
    }
  })

  it('refuses a key under the prefix with the wrong length or characters as key_malformed', async () => {
    const { key } = await createWidgetKey({ iterations: 1 })
    secret(key)
    for (const bad of [
      key.slice(0, -1),
      `${key}A`,
      `${key.slice(0, -2)}.${key.slice(-1)}`,
      'wid_',
      `${key}\n`,
    ]) {
      expect(checkWidgetKeyShape(bad, 'wid_')).toEqual({ ok: false, reason: 'key_malformed' })
    }
  })

  it('lets through every key when no prefix is given, and keys with another prefix or none', () => {
    const foreign = secret('wid_1GEYG3p4IO8Fr5ncQehhMYRPwzn8oj0Q') // same shape, made by another system
    expect(checkWidgetKeyShape(foreign)).toEqual({ ok: true })
    expect(checkWidgetKeyShape(secret('hk_live_j5t8D38oJRoglK0D2j9m1HlkeEBq9Fjn'), 'wid_')).toEqual({
      ok: true,
    })
    expect(
      checkWidgetKeyShape(secret('a5a25d9c724bef456d4e1480f521c593765b47479c57af4c5709ae3c7f261c13'), 'wid_'),
    ).toEqual({ ok: true })
    expect(checkWidgetKeyShape('', 'wid_')).toEqual({ ok: true })
    // with the prefix configured, the wid_ namespace is reserved for generated keys
    expect(checkWidgetKeyShape(foreign, 'wid_')).toEqual({ ok: false, reason: 'key_checksum_invalid' })
  })
})

describe('hashWidgetKey and verifyKeyAgainstRecord', () => {
  const key = secret('wid_TN9wYJYJzSNPLXRUyLQu6138-V84bGUG')

  it('hashes with a fresh 16-byte salt and the digest-sized hash, and verifies only that key', async () => {
    const record = await hashWidgetKey(key, { iterations: 1000 })
    expect(record).toMatchObject({ algorithm: 'pbkdf2', digest: 'sha256', iterations: 1000 })
    expect([record.salt.length, record.hash.length]).toEqual([16, 32])
    await expect(verifyKeyAgainstRecord(key, record)).resolves.toBe(true)
    await expect(verifyKeyAgainstRecord(`${key}\n`, record)).resolves.toBe(false)
    await expect(verifyKeyAgainstRecord(key.toLowerCase(), record)).resolves.toBe(false)
    const sha1 = await hashWidgetKey(key, { iterations: 1000, digest: 'sha1', saltBytes: 32 })
    expect([sha1.salt.length, sha1.hash.length]).toEqual([32, 20])
  })

  it('refuses an empty key and invalid options with a TypeError', async () => {
    await expect(hashWidgetKey('')).rejects.toThrow(TypeError)
    await expect(hashWidgetKey(key, { iterations: 1.5 })).rejects.toThrow(/"iterations"/)
    await expect(hashWidgetKey(key, { saltBytes: 8 })).rejects.toThrow(/"saltBytes"/)
    await expect(hashWidgetKey(key, { digest: 'md5' as never })).rejects.toThrow(/"digest"/)
  })

  it('answers false for an empty key before parsing or hashing, even against a hash of ""', async () => {
    const ofEmpty = parseHashRecord({ hash: '0'.repeat(64), salt: '00', iter: 1 })
    ofEmpty.hash = await derive('', ofEmpty)
    await expect(verifyKeyAgainstRecord('', ofEmpty)).resolves.toBe(false)
    // not even parsed: an invalid record does not turn an empty key into an error
    await expect(verifyKeyAgainstRecord('', 'not a record')).resolves.toBe(false)
    await expect(verifyKeyAgainstRecord(undefined as unknown as string, ofEmpty)).resolves.toBe(false)
  })

  it('rejects with HashRecordError for an invalid record rather than answering no', async () => {
    await expect(verifyKeyAgainstRecord(key, { hash: 'abc', salt: '00', iter: 1 })).rejects.toBeInstanceOf(
      HashRecordError,
    )
  })

  it('runs PBKDF2 off the event loop, so timers still fire during a 600,000-iteration derivation', async () => {
    const record = parseHashRecord({ hash: '00'.repeat(32), salt: '00'.repeat(16), iter: 600_000 })
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    const started = performance.now()
    await derive(key, record)
    const elapsed = performance.now() - started
    clearInterval(timer)
    expect(elapsed).toBeGreaterThan(20) // long enough for a 1 ms timer to fire several times
    expect(ticks).toBeGreaterThan(2)
  })
})

async function runCreate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIO = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    readStdin: async () => '',
    env: {},
  }
  const code = await createWidgetKeyCommand(args, io)
  return { code, stdout, stderr }
}

describe('keyward create-widget-key', () => {
  it('prints a key once, its fingerprint and a PHC record that verifies it', async () => {
    const { code, stdout, stderr } = await runCreate(['--iterations', '1000', '--format', 'phc'])
    expect(code).toBe(0)
    const key = secret(/^key: +(\S+)$/m.exec(stdout)![1]!)
    const record = /^record: +(\S+)$/m.exec(stdout)![1]!
    expect(key).toMatch(/^wid_[A-Za-z0-9_-]{32}$/)
    expect(stdout.split(key)).toHaveLength(2)
    expect(stdout).toContain(`fingerprint: ${fingerprint(key)}`)
    expect(record).toMatch(/^\$pbkdf2-sha256\$i=1000,l=32\$/)
    expect(checkWidgetKeyShape(key, 'wid_')).toEqual({ ok: true })
    await expect(verifyKeyAgainstRecord(key, record)).resolves.toBe(true)
    expect(stderr).toMatch(/only this once/)
  })

  it('prints key, fingerprint and record as one JSON object with --json, honouring --prefix and --digest', async () => {
    const { code, stdout } = await runCreate([
      '--json',
      '--iterations',
      '1000',
      '--prefix',
      'acme_',
      '--digest',
      'sha512',
    ])
    expect(code).toBe(0)
    const printed = JSON.parse(stdout) as { key: string; fingerprint: string; record: string }
    secret(printed.key)
    expect(printed.key.startsWith('acme_')).toBe(true)
    expect(printed.fingerprint).toBe(fingerprint(printed.key))
    expect(parseHashRecord(printed.record)).toMatchObject({ algorithm: 'pbkdf2', digest: 'sha512' })
    await expect(verifyKeyAgainstRecord(printed.key, printed.record)).resolves.toBe(true)
  })

  it('prints the object form, readable with default options', async () => {
    const { code, stdout } = await runCreate(['--iterations', '1000', '--format', 'object'])
    expect(code).toBe(0)
    const key = secret(/^key: +(\S+)$/m.exec(stdout)![1]!)
    const record = JSON.parse(stdout.slice(stdout.indexOf('{'))) as Record<string, unknown>
    expect(Object.keys(record).sort()).toEqual(['digest', 'hash', 'iterations', 'salt'])
    await expect(verifyKeyAgainstRecord(key, record)).resolves.toBe(true)
  })

  it('exits 2 for bad options, and 0 with usage for --help', async () => {
    for (const args of [
      ['--iterations', '0'],
      ['--iterations', '1e3'],
      ['--format', 'yaml'],
      ['--digest', 'md5'],
      ['--prefix', 'bad prefix'],
      ['--nope'],
      ['extra'],
    ]) {
      const { code, stdout, stderr } = await runCreate(args)
      expect([args.join(' '), code, stdout]).toEqual([args.join(' '), 2, ''])
      expect(stderr).toMatch(/keyward create-widget-key: /)
    }
    const help = await runCreate(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/--iterations N/)
  })
})

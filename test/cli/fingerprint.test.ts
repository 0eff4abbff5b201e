/**
 * `keyward fingerprint`: the fingerprint an operator compares with the one in a decision event.
 * The bin runs as a child process, reading the key from a file or from standard input.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import request from 'supertest'
import { afterAll, describe, expect, it } from 'vitest'
import { type DecisionEvent, fingerprint, requireWorkerKey } from '../../src/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'keyward-fingerprint-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function keyward(
  args: string[],
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk) => (stdout += chunk))
    child.stderr?.on('data', (chunk) => (stderr += chunk))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
    if (stdin !== undefined) child.stdin?.end(stdin)
  })
}

function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

const KEY = secret(`wk_${randomBytes(24).toString('base64url')}`)

describe.each(expressVersions)('keyward fingerprint ($name)', ({ express }) => {
  it('prints the keyFingerprint of the decision event for that key, read from --key-file', async () => {
    const events: DecisionEvent[] = []
    const app = express()
    app.get('/', requireWorkerKey({ keys: KEY, onDecision: (e) => events.push(e) }), (_req, res) => {
      res.json({ ok: true })
    })
    await request(app).get('/').set('X-Worker-Key', KEY).expect(200)
    const { code, stdout, stderr } = await keyward(['fingerprint', '--key-file', file('key', KEY)])
    expect(code).toBe(0)
    expect(stdout).toBe(`${events[0]?.keyFingerprint}\n`)
    expect(stdout).toBe(`${fingerprint(KEY)}\n`)
    expect(stderr).toBe('')
  })
})

describe('keyward fingerprint', () => {
  it('reads the key from standard input when no file is given', async () => {
    const { code, stdout } = await keyward(['fingerprint'], KEY)
    expect(code).toBe(0)
    expect(stdout).toBe(`${fingerprint(KEY)}\n`)
  })

  it('fingerprints a trailing newline as part of the key, as doctor reads it, and says what it would be without', async () => {
    for (const { code, stdout, stderr } of [
      await keyward(['fingerprint'], `${KEY}\n`),
      await keyward(['fingerprint', '--key-file', file('echoed', `${KEY}\n`)]),
    ]) {
      expect(code).toBe(0)
      expect(stdout).toBe(`${fingerprint(`${KEY}\n`)}\n`)
      expect(stderr).toBe(
        `keyward fingerprint: note: the input ends with a newline, fingerprinted as part of the key; without it: ${fingerprint(KEY)}\n`,
      )
    }
    const padded = await keyward(['fingerprint'], ` ${KEY}\t`)
    expect(padded.stdout).toBe(`${fingerprint(` ${KEY}\t`)}\n`)
    expect(padded.stderr).toMatch(/starts and ends with whitespace.*without it: kw_/)
  })

  it('exits 2 without a key: an empty file, empty input, or --key on the command line', async () => {
    for (const args of [
      ['fingerprint', '--key-file', file('empty', '')],
      ['fingerprint'],
      ['fingerprint', '--key', KEY],
      ['fingerprint', `--key=${KEY}`],
    ]) {
      const { code, stdout, stderr } = await keyward(args, '')
      expect(code).toBe(2)
      expect(stdout).toBe('')
      expect(stderr).toMatch(/^keyward fingerprint: /)
      expect(stderr.includes(KEY)).toBe(false)
    }
  })

  it('is listed by keyward --help, and its own --help says how the input is read', async () => {
    expect((await keyward(['--help'])).stdout).toMatch(/^ {2}fingerprint +print the fingerprint/m)
    const help = await keyward(['fingerprint', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('byte for byte')
    expect(help.stdout).toContain('A trailing newline')
  })
})

/**
 * A key or token pasted where a path or an option belongs must not be printed back: terminals
 * are recorded, CI logs are kept, support threads are pasted. Every `keyward` command names the
 * argument and the problem, never the value. The bin runs as users run it: a child process.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { secret } from '../helpers/secrets.js'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

function keyward(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (out += chunk))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, out }))
  })
}

const widgetKey = secret(`wid_${randomBytes(24).toString('base64url')}`)
const token = secret(`kwt_${randomBytes(32).toString('base64url')}`)
/** Letters and digits only: it reads like an option name to a careless parser. */
const bareToken = secret(`a${randomBytes(24).toString('hex')}`.slice(0, 28))
// a leading letter: a value starting with '-' would be read as another option, not as --prefix's value
const longToken = secret(`t${randomBytes(30).toString('base64url')}`)

const checkService = (...extra: string[]) => [
  'check-service',
  '--url',
  'http://127.0.0.1:9/validate',
  ...extra,
]

describe('keyward CLIs never print a value pasted in the wrong place', () => {
  it.each([
    ['check-service, a token as a stray argument', checkService(token), /unexpected argument/],
    [
      'check-service, a token as --valid-token-file',
      checkService('--valid-token-file', token, '--invalid-token-file', '/nonexistent'),
      /--valid-token-file: no such file \(the value looks like a token, not a path/,
    ],
    [
      'check-service, a token as --invalid-token-file',
      checkService('--valid-token-file', fileURLToPath(import.meta.url), '--invalid-token-file', token),
      /--invalid-token-file: no such file \(the value looks like a token/,
    ],
    ['check-service, a token as an option', checkService(`--${bareToken}`), /unknown option$/m],
    [
      'doctor, a key as --key-file',
      ['doctor', '--key-file', widgetKey, '--record', '{}'],
      /--key-file: no such file \(the value looks like a key, not a path — pass the path of a file holding the key\)/,
    ],
    [
      'doctor, a key as --record-file',
      ['doctor', '--key-file', '/nonexistent', '--record-file', widgetKey],
      /--record-file: no such file \(the value looks like a key or token/,
    ],
    ['doctor, a token as an option', ['doctor', `--${bareToken}`], /unknown option$/m],
    [
      'create-widget-key, a token as --prefix',
      ['create-widget-key', '--prefix', longToken],
      /--prefix must be/,
    ],
    ['create-widget-key, a token as an option', ['create-widget-key', `--${bareToken}`], /unknown option$/m],
    ['the bin, a key instead of a command', [widgetKey], /unknown command$/m],
    [
      'fingerprint, a key as --key-file',
      ['fingerprint', '--key-file', widgetKey],
      /--key-file: no such file \(the value looks like a key/,
    ],
  ])('%s: names the argument and the problem, exits 2', async (_what, args, problem) => {
    const { code, out } = await keyward(args)
    for (const value of [widgetKey, token, bareToken, longToken])
      expect(out.includes(value), 'the value is printed back').toBe(false)
    expect(out).toMatch(problem)
    expect(code).toBe(2)
  })
})

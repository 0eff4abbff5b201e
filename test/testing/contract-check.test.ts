import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../../src/cli/check-service.js'
import type { CliIO } from '../../src/cli/io.js'
import {
  type AuthService,
  type ContractReport,
  checkAuthServiceContract,
  formatContractReport,
  startAuthService,
} from '../../src/testing/index.js'
import { secret } from '../helpers/secrets.js'

let auth: AuthService
let validToken: string
let invalidToken: string
let f4Service: Server
let f4Url: string
let permissive: Server
let permissiveUrl: string
let dir: string

/** Starts an Express app on 127.0.0.1 and returns its server and `/validate` URL. */
async function serve(app: express.Express): Promise<[Server, string]> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/validate`]
}

beforeAll(async () => {
  auth = await startAuthService()
  validToken = secret(await auth.issue())
  invalidToken = secret('kwt_a-token-no-service-has-issued')

  // the service from F4: it reads the key from the JSON body and ignores Authorization
  const f4 = express()
  f4.use(express.json())
  f4.post('/validate', (req, res) => {
    const key = req.body?.api_key ?? req.body?.token
    if (!key) {
      res.status(400).json({ error: 'api_key is required' })
      return
    }
    if (key === validToken) res.json({ valid: true, user_id: 'u1' })
    else res.status(401).json({ valid: false })
  })
  ;[f4Service, f4Url] = await serve(f4)

  // a service that says yes to anything
  const yes = express()
  yes.post('/validate', (_req, res) => {
    res.json({ valid: true })
  })
  ;[permissive, permissiveUrl] = await serve(yes)

  dir = await mkdtemp(join(tmpdir(), 'keyward-check-service-'))
  await writeFile(join(dir, 'valid'), `${validToken}\n`)
  await writeFile(join(dir, 'invalid'), `${invalidToken}\n`)
  await writeFile(join(dir, 'empty'), '\n')
})

afterAll(async () => {
  await auth.close()
  f4Service.close()
  permissive.close()
  await rm(dir, { recursive: true, force: true })
})

const failed = (report: ContractReport) =>
  report.checks.filter((check) => !check.ok).map((check) => check.point)

describe('checkAuthServiceContract', () => {
  it('reports every contract point met by the testing kit auth service', async () => {
    const report = await checkAuthServiceContract(auth.validateUrl, { validToken, invalidToken })
    expect(failed(report)).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.diagnosis).toBeUndefined()
    expect(report.checks.map((check) => check.point)).toEqual([
      'reachable',
      'valid_token_accepted',
      'json_answer',
      'active_flag',
      'invalid_token_refused',
      'missing_token_refused',
      'token_read_from_header',
    ])
  })

  it('names the token-in-body failure when the service reads the token from the JSON body (F4)', async () => {
    const report = await checkAuthServiceContract(f4Url, { validToken, invalidToken })
    expect(report.ok).toBe(false)
    expect(failed(report)).toContain('token_read_from_header')
    expect(failed(report)).toContain('valid_token_accepted')
    const fromHeader = report.checks.find((check) => check.point === 'token_read_from_header')
    expect(fromHeader?.detail).toMatch(/expects the token in the JSON body/)
    expect(fromHeader?.detail).toContain('F4')
    expect(report.diagnosis).toMatch(/expects the token in the JSON body.*\(F4\)/)
  })

  it('reports a service that accepts any token as failing invalid_token_refused and missing_token_refused', async () => {
    const report = await checkAuthServiceContract(permissiveUrl, { validToken, invalidToken })
    expect(failed(report)).toEqual(['invalid_token_refused', 'missing_token_refused'])
  })

  it('reports an unreachable service as failing reachable', async () => {
    const down = await startAuthService()
    const url = down.validateUrl
    await down.close()
    const report = await checkAuthServiceContract(url, { validToken, invalidToken, timeout: 1000 })
    expect(report.checks[0]).toMatchObject({ point: 'reachable', ok: false })
    expect(report.ok).toBe(false)
  })

  it('reports an answer that is not JSON as failing json_answer and active_flag', async () => {
    auth.fault('malformed')
    try {
      const report = await checkAuthServiceContract(auth.validateUrl, { validToken, invalidToken })
      expect(failed(report)).toEqual(expect.arrayContaining(['json_answer', 'active_flag']))
    } finally {
      auth.fault(undefined)
    }
  })

  it('never puts a token in the report or its text', async () => {
    for (const url of [auth.validateUrl, f4Url, permissiveUrl]) {
      const report = await checkAuthServiceContract(url, { validToken, invalidToken })
      const text = `${JSON.stringify(report)}\n${formatContractReport(report)}`
      expect(text).not.toContain(validToken)
      expect(text).not.toContain(invalidToken)
    }
  })

  it('throws a TypeError for a URL that is not http(s) or for equal tokens', async () => {
    await expect(checkAuthServiceContract('ftp://x/validate', { validToken, invalidToken })).rejects.toThrow(
      TypeError,
    )
    await expect(
      checkAuthServiceContract(auth.validateUrl, { validToken, invalidToken: validToken }),
    ).rejects.toThrow(TypeError)
  })
})

describe('keyward check-service', () => {
  const cli = () => {
    const out: string[] = []
    const err: string[] = []
    const io: CliIO = {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
      readStdin: async () => '',
      env: {},
    }
    return { io, out, err }
  }
  const files = ['--valid-token-file', '', '--invalid-token-file', '']
  const args = (url: string, valid = join(dir, 'valid'), invalid = join(dir, 'invalid')) => {
    const list = ['--url', url, ...files]
    list[3] = valid
    list[5] = invalid
    return list
  }

  it('exits 0 and lists every point as met for a service that follows the contract', async () => {
    const { io, out } = cli()
    expect(await run(args(auth.validateUrl), io)).toBe(0)
    expect(out.join('')).toContain('All 7 contract points met.')
  })

  it('exits 1 and names the token-in-body failure for an F4 service, without printing a token', async () => {
    const { io, out, err } = cli()
    expect(await run(args(f4Url), io)).toBe(1)
    const text = out.join('') + err.join('')
    expect(text).toMatch(/✗ token_read_from_header/)
    expect(text).toMatch(/^Diagnosis: .*JSON body/m)
    expect(text).toContain('expects the token in the JSON body')
    expect(text).not.toContain(validToken)
    expect(text).not.toContain(invalidToken)
  })

  it('prints the report as JSON with --json', async () => {
    const { io, out } = cli()
    expect(await run([...args(auth.validateUrl), '--json'], io)).toBe(0)
    expect(JSON.parse(out.join(''))).toMatchObject({ ok: true })
  })

  it.each([
    ['a missing --url', ['--valid-token-file', 'x', '--invalid-token-file', 'y'], /missing --url/],
    ['an unknown option', ['--token', 'abc'], /unknown option --token\n/],
    [
      'a URL that is not http(s)',
      ['--url', 'auth.internal/validate', '--valid-token-file', 'x', '--invalid-token-file', 'y'],
      /--url/,
    ],
  ])('exits 2 for %s', async (_what, argv, message) => {
    const { io, err } = cli()
    expect(await run(argv, io)).toBe(2)
    expect(err.join('')).toMatch(message)
  })

  it('exits 2 for an empty or unreadable token file', async () => {
    const empty = cli()
    expect(await run(args(auth.validateUrl, join(dir, 'empty')), empty.io)).toBe(2)
    expect(empty.err.join('')).toMatch(/--valid-token-file: the file is empty/)
    const absent = cli()
    expect(await run(args(auth.validateUrl, join(dir, 'valid'), join(dir, 'absent')), absent.io)).toBe(2)
    expect(absent.err.join('')).toMatch(/--invalid-token-file: no such file\n/)
  })

  it('prints its usage with --help and exits 0', async () => {
    const { io, out } = cli()
    expect(await run(['--help'], io)).toBe(0)
    expect(out.join('')).toContain('--valid-token-file')
  })
})

/**
 * No raw secret anywhere an operator or an attacker could read it: not in responses, logger
 * lines, decision events or errors (printed in full, cause chain included, as an application's
 * error handler would), not in the server's heap after the traffic (a heap snapshot, which
 * collects garbage first, searched for every key and token that was configured or presented),
 * and not in the CLI's output. Secrets are registered with `secret()`, so the suite-wide guard
 * (test/setup/secret-guard.ts) also watches everything that happens in this process.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run as checkService } from '../../src/cli/check-service.js'
import { run as createWidgetKeyCommand } from '../../src/cli/create-widget-key.js'
import { run as doctor } from '../../src/cli/doctor.js'
import type { CliIO } from '../../src/cli/io.js'
import { createWidgetKey, formatHashRecord } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { findSecret, secret } from '../helpers/secrets.js'
import type { SecretsServerConfig, SecretsServerMessage } from './helpers/secrets-server.js'

const workerKey = secret(`wk_${randomBytes(32).toString('base64url')}`)
const previousWorkerKey = secret(`wk_${randomBytes(32).toString('base64url')}`)
const wrongWorkerKey = secret(`wk_${randomBytes(32).toString('base64url')}`)

/** Every raw secret of this file, for the searches that cannot use the registry (the heap). */
const all: string[] = [workerKey, previousWorkerKey, wrongWorkerKey]
const remember = (value: string) => {
  all.push(secret(value))
  return value
}

function nextMessage<T extends SecretsServerMessage['type']>(child: ChildProcess, type: T) {
  return new Promise<Extract<SecretsServerMessage, { type: T }>>((resolve, reject) => {
    const onMessage = (message: SecretsServerMessage) => {
      if (message.type !== type) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message as Extract<SecretsServerMessage, { type: T }>)
    }
    const onExit = (code: number | null) => {
      child.off('message', onMessage)
      reject(new Error(`the server exited (${code})`))
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

describe('no raw secret leaks', () => {
  let auth: AuthService
  let child: ChildProcess
  let base = ''
  let output = ''
  let heldRecord = ''
  let widgets = { a: '', b: '' }
  const responses: string[] = []

  beforeAll(async () => {
    auth = await startAuthService({ algorithm: 'RS256' })
    const widgetA = await createWidgetKey({ iterations: 1000 })
    const widgetB = await createWidgetKey({ iterations: 1000 })
    remember(widgetA.key)
    remember(widgetB.key)
    const config: SecretsServerConfig = {
      records: {
        'tenant-a': formatHashRecord(widgetA.record, 'phc'),
        'tenant-b': formatHashRecord(widgetB.record, 'phc'),
      },
      validateUrl: auth.validateUrl,
      issuer: auth.issuer,
      audience: auth.audience,
      jwksUri: auth.jwksUri,
    }
    heldRecord = config.records['tenant-a']!
    child = fork(fileURLToPath(new URL('./helpers/secrets-server.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, WORKER_KEY: workerKey, WORKER_KEY_PREVIOUS: previousWorkerKey },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    child.stdout?.on('data', (chunk) => {
      output += chunk
    })
    child.stderr?.on('data', (chunk) => {
      output += chunk
    })
    const ready = nextMessage(child, 'ready')
    child.send({ type: 'start', config })
    base = `http://127.0.0.1:${(await ready).port}`
    widgets = { a: widgetA.key, b: widgetB.key }
  })

  afterAll(async () => {
    child?.kill()
    await auth?.close()
  })

  async function get(path: string, headers: Record<string, string>) {
    const res = await fetch(`${base}${path}`, { headers })
    const text = await res.text()
    responses.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`)
    return res.status
  }

  it('keeps them out of responses, logger lines, decision events and printed errors', async () => {
    const opaque = remember(await auth.issue({ scopes: ['items:read'] }))
    const jwt = remember(await auth.issue({ format: 'jwt' }))
    const revoked = remember(await auth.issue())
    auth.revoke(revoked)
    const duringOutage = remember(await auth.issue())
    const forged = remember(`kwt_${randomBytes(32).toString('base64url')}`)
    const tamperedJwt = remember(`${jwt.slice(0, -6)}AAAAAA`)

    // worker keys: current, previous, wrong, malformed ways of sending them, and misconfiguration
    expect(await get('/worker', { 'x-worker-key': workerKey })).toBe(200)
    expect(await get('/worker', { 'x-worker-key': previousWorkerKey })).toBe(200)
    expect(await get('/worker', { 'x-worker-key': wrongWorkerKey })).toBe(401)
    expect(await get('/worker', { 'x-worker-key': `${workerKey} ` })).toBe(200) // HTTP strips the space
    expect(await get('/worker', { 'x-worker-key': `${wrongWorkerKey}, ${workerKey}` })).toBe(401)
    expect(await get('/worker-next', { 'x-worker-key': wrongWorkerKey })).toBe(401)
    expect(await get('/worker-unset', { 'x-worker-key': workerKey })).toBe(500)
    expect(await get('/worker-resolver-throws', { 'x-worker-key': workerKey })).toBe(503)

    // widget keys: right, another tenant's, malformed, and a failing store
    expect(await get('/widget', { 'x-tenant-id': 'tenant-a', 'x-widget-key': widgets.a })).toBe(200)
    expect(await get('/widget', { 'x-tenant-id': 'tenant-a', 'x-widget-key': widgets.b })).toBe(401)
    expect(await get('/widget', { 'x-tenant-id': 'tenant-x', 'x-widget-key': widgets.a })).toBe(401)
    expect(
      await get('/widget', { 'x-tenant-id': 'tenant-a', 'x-widget-key': `${widgets.a.slice(0, -1)}x` }),
    ).toBe(401)
    expect(await get('/widget-store-throws', { 'x-tenant-id': 'tenant-a', 'x-widget-key': widgets.a })).toBe(
      503,
    )

    // bearer tokens: valid, revoked, forged, tampered JWT, an outage, and a careless validator
    expect(await get('/bearer', { authorization: `Bearer ${opaque}` })).toBe(200)
    expect(await get('/bearer', { authorization: `Bearer ${revoked}` })).toBe(401)
    expect(await get('/bearer', { authorization: `Bearer ${forged}` })).toBe(401)
    // another scheme is no bearer credential at all (RFC 6750 §3.1)
    expect(await get('/bearer', { authorization: `Basic ${opaque}` })).toBe(401)
    expect(await get('/jwt', { authorization: `Bearer ${jwt}` })).toBe(200)
    expect(await get('/jwt', { authorization: `Bearer ${tamperedJwt}` })).toBe(401)
    auth.fault('error')
    expect(await get('/bearer', { authorization: `Bearer ${duringOutage}` })).toBe(503)
    auth.fault('malformed')
    expect(await get('/bearer', { authorization: `Bearer ${forged}x` })).toBe(503)
    auth.fault(undefined)

    // the server's output travels through a pipe: wait for it rather than for a fixed time
    for (
      let waited = 0;
      waited < 10_000 && !['event ', 'error ', 'log '].every((m) => output.includes(m));
      waited += 25
    )
      await new Promise((resolve) => setTimeout(resolve, 25))
    expect(output, 'the server printed logs, events and errors').toContain('event ')
    expect(output).toContain('error ')
    expect(output).toContain('log ')
    const leak = (where: string, text: string) => {
      const found = findSecret(text)
      return found
        ? `${where}: a secret of ${found.length} characters (starts ${found.slice(0, 3)}…)`
        : undefined
    }
    const leaks = [
      ...output.split('\n').map((line) => leak(`server output "${line.slice(0, 60)}…"`, line)),
      ...responses.map((text) => leak('a response', text)),
    ].filter(Boolean)
    expect(leaks).toEqual([])
  })

  // util.inspect / console.error print an error's cause in full, so a validator whose message
  // quotes the token must not become a cause
  it("keeps them out of a printed error's cause when an application's validator quotes the token", async () => {
    const quoted = remember(`kwt_${randomBytes(32).toString('base64url')}`)
    const before = output.length
    expect(await get('/bearer-careless-validator', { authorization: `Bearer ${quoted}` })).toBe(503)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(output.slice(before)).toContain('error ')
    expect(output.slice(before).includes(quoted), 'the token in the printed error').toBe(false)
  })

  it("keeps them out of the server's heap after the traffic (heap snapshot)", async () => {
    const snapshot = nextMessage(child, 'snapshot')
    child.send({ type: 'snapshot' })
    const { file } = await snapshot
    try {
      const heap = readFileSync(file, 'latin1')
      expect(heap.length, 'a heap snapshot was written').toBeGreaterThan(1_000_000)
      // control: a string the server does hold (a record it was configured with) is found
      expect(heap.includes(heldRecord), 'the search finds strings the server holds').toBe(true)
      const found = all
        .filter((value) => heap.includes(value))
        .map((value) => `${value.slice(0, 4)}… (${value.length} characters)`)
      expect(found, 'raw secrets held in the heap').toEqual([])
    } finally {
      rmSync(file, { force: true })
    }
  })

  it("keeps them out of the CLI's output", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-'))
    const captured = { out: '', err: '' }
    const io: CliIO = {
      stdout: { write: (text: string) => (captured.out += text) },
      stderr: { write: (text: string) => (captured.err += text) },
      readStdin: async () => '',
      env: {},
    }
    try {
      const widget = await createWidgetKey({ iterations: 1000 })
      remember(widget.key)
      const record = formatHashRecord(widget.record, 'phc')
      const keyFile = join(dir, 'key.txt')
      for (const variant of [
        widget.key,
        `${widget.key}\n`,
        ` ${widget.key}`,
        `${widget.key.slice(0, -1)}Z`,
      ]) {
        writeFileSync(keyFile, variant)
        await doctor(['--key-file', keyFile, '--record', record], io)
        await doctor(['--key-file', keyFile, '--record', record, '--json'], io)
      }
      await doctor(['--key-file', keyFile, '--record', `${record.slice(0, -4)}`], io)

      const valid = remember(await auth.issue())
      writeFileSync(join(dir, 'valid.txt'), valid)
      writeFileSync(join(dir, 'invalid.txt'), wrongWorkerKey)
      await checkService(
        [
          '--url',
          auth.validateUrl,
          '--valid-token-file',
          join(dir, 'valid.txt'),
          '--invalid-token-file',
          join(dir, 'invalid.txt'),
        ],
        io,
      )
      await checkService(
        [
          '--url',
          auth.validateUrl,
          '--valid-token-file',
          join(dir, 'valid.txt'),
          '--invalid-token-file',
          join(dir, 'invalid.txt'),
          '--json',
        ],
        io,
      )
      expect(captured.out.length).toBeGreaterThan(0)
      expect(findSecret(captured.out), 'a secret on stdout').toBeUndefined()
      expect(findSecret(captured.err), 'a secret on stderr').toBeUndefined()

      // create-widget-key shows its new key exactly once, on stdout, by design; nothing else
      const created = { out: '', err: '' }
      await createWidgetKeyCommand(['--iterations', '1000'], {
        ...io,
        stdout: { write: (text: string) => (created.out += text) },
        stderr: { write: (text: string) => (created.err += text) },
      })
      const newKey = /wid_[A-Za-z0-9_-]{32}/.exec(created.out)?.[0]
      expect(newKey, 'the new key is shown').toBeDefined()
      expect(created.out.split(newKey!).length - 1, 'shown once').toBe(1)
      expect(created.err).not.toContain(newKey!)
      expect(findSecret(created.out + created.err), 'another secret').toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

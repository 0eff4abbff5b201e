/**
 * An example whose port is taken must stop with a message naming the port, not print
 * "listening" and curl lines that then reach whatever holds the port. Express 5 hands the listen
 * error to the callback, Express 4 emits it on the server; the examples' `listen` takes both.
 */
import { spawn } from 'node:child_process'
import net, { type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen } from '../../examples/http.js'
import { expressVersions } from '../helpers/apps.js'
import { DATABASE_URL, requireServices, uniqueName } from '../integration/services.js'

let holder: net.Server
let taken = 0

beforeAll(async () => {
  holder = net.createServer((socket) => socket.end('not the example\n'))
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  taken = (holder.address() as AddressInfo).port
})
afterAll(() => new Promise((resolve) => holder.close(resolve)))

describe.each(expressVersions)('examples/http listen() ($name)', ({ express }) => {
  it('rejects with EADDRINUSE when the port is taken', async () => {
    await expect(listen(express(), taken, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' })
  })

  it('resolves with the listening server otherwise', async () => {
    const server = await listen(express(), 0, '127.0.0.1')
    expect((server.address() as AddressInfo).port).toBeGreaterThan(0)
    await new Promise((resolve) => server.close(resolve))
  })
})

function runExample(
  path: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL(`../../${path}`, import.meta.url))],
      { env: { ...process.env, ...env, PORT: String(taken) }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk) => (stdout += chunk))
    child.stderr?.on('data', (chunk) => (stderr += chunk))
    child.once('error', reject)
    // an example that wrongly keeps running is stopped, and fails on its exit code
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const { skip: noServices } = await requireServices('postgres', 'redis')

/** The platform example applies its schema.sql at start: in a schema of its own, never public's tables. */
async function withOwnSchema<T>(run: (databaseUrl: string) => Promise<T>): Promise<T> {
  const schema = uniqueName('kw_listen')
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  try {
    const url = new URL(DATABASE_URL)
    url.searchParams.set('options', `-c search_path=${schema}`)
    return await run(url.toString())
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
  }
}

describe('examples with their port taken', () => {
  it.each([
    ['examples/demo/server.ts', false],
    ['examples/delegated-auth/server.ts', false],
    ['examples/widget-runtime/server.ts', false],
    ['examples/websocket/server.ts', false],
    ['examples/widget-platform/server.ts', true],
  ])(
    '%s exits 1 naming the port, and never says it is listening',
    async (path, needsServices) => {
      if (needsServices && noServices) return
      const { code, stdout, stderr } = needsServices
        ? await withOwnSchema((url) => runExample(path, { DATABASE_URL: url }))
        : await runExample(path)
      expect(code).toBe(1)
      expect(stderr).toMatch(
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}: port ${taken} is already in use`),
      )
      expect(stdout).not.toMatch(/listening|curl/)
    },
    45_000,
  )
})

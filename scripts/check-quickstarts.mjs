#!/usr/bin/env node
// Runs the README's quick starts exactly as written, in a consumer project that has the packed
// package installed: `node scripts/check-quickstarts.mjs <consumer dir> esm|cjs|ts`. `ts`
// type-checks the ESM program as a strict `nodenext` TypeScript file (TSC names the compiler). It takes the
// first ```js block under "## Quick start (ESM)" or "(CommonJS)", writes it as server.mjs or
// server.cjs, starts it without WORKER_KEY (it must refuse to start, naming the variable), then
// with a key and the testing kit's auth service, and calls each route as the README says.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const [dir, flavour] = process.argv.slice(2)
if (!dir || !['esm', 'cjs', 'ts'].includes(flavour)) {
  console.error('usage: node scripts/check-quickstarts.mjs <consumer dir> esm|cjs|ts')
  process.exit(2)
}
const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
const heading = flavour === 'cjs' ? '## Quick start (CommonJS)' : '## Quick start (ESM)'
const section = readme.slice(readme.indexOf(heading))
const code = /```js\n([\s\S]*?)```/.exec(section)?.[1]
if (readme.indexOf(heading) < 0 || !code) throw new Error(`README.md has no js block under "${heading}"`)
const file = join(dir, { esm: 'server.mjs', cjs: 'server.cjs', ts: 'server.ts' }[flavour])
writeFileSync(file, code)

if (flavour === 'ts') {
  // the consumer's own strict nodenext settings, for this one file
  writeFileSync(
    join(dir, 'tsconfig.readme.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { noEmit: true },
      include: ['server.ts'],
      files: [],
    }),
  )
  const checked = spawnSync(process.env.TSC ?? 'tsc', ['-p', 'tsconfig.readme.json'], {
    cwd: dir,
    encoding: 'utf8',
  })
  if (checked.status !== 0) {
    console.error(
      `quick start (ts): the README's ESM program does not type-check:\n${checked.stdout}${checked.stderr}`,
    )
    process.exit(1)
  }
  console.log("quick start (ts): the README's ESM program type-checks as strict nodenext TypeScript")
  process.exit(0)
}

const fail = (message) => {
  console.error(`quick start (${flavour}): ${message}`)
  process.exit(1)
}

/** Runs the server until `until(output)` holds or it exits; resolves with its output and exit code. */
function run(env, until, timeoutMs = 30_000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: dir, env: { ...process.env, ...env } })
    let output = ''
    const timer = setTimeout(() => finish(null), timeoutMs)
    const finish = (code) => {
      clearTimeout(timer)
      resolve({ output, code, child })
    }
    const take = (chunk) => {
      output += chunk
      if (until?.(output)) finish(undefined)
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    child.on('exit', (code) => finish(code))
  })
}

// the testing kit's auth service, from the installed package, as the README's second terminal
const { startAuthService } = await import(join(dir, 'node_modules/keyward/dist/testing.js'))
const auth = await startAuthService()
const token = await auth.issue({ subject: 'alice', scopes: ['items:read'] })
try {
  const unset = await run({ WORKER_KEY: '', AUTH_SERVICE_URL: auth.validateUrl }, undefined)
  if (unset.code === 0 || unset.code === null) fail('started without WORKER_KEY')
  if (!unset.output.includes('WORKER_KEY is unset or blank'))
    fail(`refused without naming WORKER_KEY:\n${unset.output}`)

  const workerKey = randomBytes(32).toString('hex')
  const started = await run({ WORKER_KEY: workerKey, AUTH_SERVICE_URL: auth.validateUrl }, (out) =>
    /widget key for tenant acme \(shown once\): (\S+)/.test(out),
  )
  try {
    if (started.code !== undefined) fail(`did not start:\n${started.output}`)
    const widgetKey = /widget key for tenant acme \(shown once\): (\S+)/.exec(started.output)[1]
    const call = async (method, path, headers) => {
      const res = await fetch(`http://localhost:3000${path}`, { method, headers })
      return [res.status, await res.json()]
    }
    const expect = (what, got, status, body) => {
      if (got[0] !== status || (body && JSON.stringify(got[1]) !== JSON.stringify(body)))
        fail(`${what}: got ${got[0]} ${JSON.stringify(got[1])}`)
    }
    expect(
      'GET /items with the token',
      await call('GET', '/items', { authorization: `Bearer ${token}` }),
      200,
      { user: 'alice' },
    )
    expect(
      'GET /widget/config with the key',
      await call('GET', '/widget/config', {
        'x-tenant-id': 'acme',
        'x-widget-key': widgetKey,
        origin: 'https://shop.example',
      }),
      200,
      { tenant: 'acme' },
    )
    expect('POST /jobs with a wrong key', await call('POST', '/jobs', { 'x-worker-key': 'wrong' }), 401)
    expect('POST /jobs with the key', await call('POST', '/jobs', { 'x-worker-key': workerKey }), 200, {
      caller: 'WORKER_KEY',
    })
  } finally {
    started.child.kill()
  }
  console.log(
    `quick start (${flavour}): the README's program refuses to start without WORKER_KEY, then answers each route as documented`,
  )
} finally {
  await auth.close()
}

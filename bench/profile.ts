/**
 * Where a row's time goes: runs one scenario's server with `--cpu-prof` under the same load as
 * the benchmark and prints keyward's share of the server's time, self time by module and by
 * function, and what keyward's own time is spent on.
 *
 * The server is bundled with esbuild first (unminified, names kept as written): tsx's on-the-fly
 * transform puts each module on one line and wraps functions in a naming helper, which leaves a
 * profile of anonymous functions at line 1.
 *
 * `npm run bench:profile -- worker-key [seconds]` — the profile is kept in
 * `bench/results/profiles/` for Chrome DevTools or speedscope.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { createWidgetKey, formatHashRecord } from '../src/index.js'
import { runLoad } from './load.js'
import { BenchServer, forkScript, nextMessage } from './processes.js'
import { scenarios } from './scenarios.js'
import type { BenchSetup } from './setup.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** The source file each line range of the bundle came from (esbuild marks each with a `// path` comment). */
let bundleModules: Array<{ from: number; to: number; path: string }> = []

function bundleModulesOf(bundleText: string): Array<{ from: number; to: number; path: string }> {
  const modules: Array<{ from: number; to: number; path: string }> = []
  bundleText.split('\n').forEach((line, index) => {
    const marker = /^\/\/ (\S+\.ts)$/.exec(line)
    if (!marker) return
    const last = modules.at(-1)
    if (last) last.to = index
    modules.push({ from: index, to: Number.POSITIVE_INFINITY, path: marker[1]! })
  })
  return modules
}

/** The bundle's source map: the line of the .ts file a bundle frame came from. */
let bundleMap: SourceMap | undefined

/** The 1-based line a frame stands for: in its .ts source when it comes from the bundle. */
function lineOf(url: string, line: number, column: number): number {
  if (!url.endsWith('server.mjs') || !bundleMap) return line + 1
  const entry = bundleMap.findEntry(line, column) as { originalLine?: number }
  return entry.originalLine === undefined ? line + 1 : entry.originalLine + 1
}

/** The source path of a frame: the file itself, or the module of the bundle its line came from. */
function sourceOf(url: string, line: number): string {
  if (!url.endsWith('server.mjs')) return url
  return bundleModules.find((m) => line >= m.from && line < m.to)?.path ?? url
}

/** Frames of keyward's own code. */
function keywardFrame(url: string, line: number): boolean {
  const source = sourceOf(url, line)
  return source.startsWith('src/') || source.includes('/src/')
}

/** Groups a script URL by where it comes from: keyward's src/, a package, or Node itself. */
function moduleOf(url: string): string {
  if (url === '') return '(native / idle / gc)'
  if (url.startsWith('node:')) return url.split('/')[0]!
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  if (/^(src|bench|test)\//.test(url)) return url
  const local = /\/(src|bench|test)\/(.*)$/.exec(url)
  return local ? `${local[1]}/${local[2]}` : url
}

/** Self time per function and per module, and inclusive time under keyward's `src/`. */
export function summariseProfile(profile: CpuProfile, top = 25, isKeyward = keywardFrame): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const selfByFunction = new Map<string, number>()
  const selfByModule = new Map<string, number>()
  let total = 0
  let idle = 0
  let insideKeyward = 0
  const keywardByLeaf = new Map<string, number>()
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const node = byId.get(id)!
    const { functionName, url, lineNumber, columnNumber } = node.callFrame
    total += dt
    if (functionName === '(idle)') idle += dt
    const where = moduleOf(sourceOf(url, lineNumber))
    const name = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineOf(url, lineNumber, columnNumber)}` : ''}`
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + dt)
    selfByModule.set(where, (selfByModule.get(where) ?? 0) + dt)
    // the nearest caller that is neither Node nor native decides whose time this is: a hash
    // computed for keyward is keyward's, the route handler keyward calls through next() is not
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frameUrl = byId.get(at)!.callFrame.url
      if (frameUrl === '' || frameUrl.startsWith('node:')) continue
      if (isKeyward(frameUrl, byId.get(at)!.callFrame.lineNumber)) {
        insideKeyward += dt
        const leaf = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineOf(url, lineNumber, columnNumber)}` : ''}`
        keywardByLeaf.set(leaf, (keywardByLeaf.get(leaf) ?? 0) + dt)
      }
      break
    }
  })
  const busy = total - idle
  const pct = (value: number) => `${((value / busy) * 100).toFixed(1).padStart(5)}%`
  const lines = [
    `busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled; shares below are of busy time`,
    `keyward's own time (its code and the Node/native calls it makes, not what runs after next()): ${pct(insideKeyward)}`,
    '',
    'self time by module:',
    ...[...selfByModule]
      .filter(([where]) => where !== '(native / idle / gc)' || true)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([where, time]) => `  ${pct(time)}  ${where}`),
    '',
    "keyward's own time by function (self):",
    ...[...keywardByLeaf]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([name, time]) => `  ${pct(time)}  ${name}`),
    '',
    'self time by function:',
    ...[...selfByFunction]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, time]) => `  ${pct(time)}  ${name}`),
  ]
  return lines.join('\n')
}

async function main() {
  const id = process.argv[2] ?? 'worker-key'
  const seconds = Number(process.argv[3] ?? 10)
  const scenario = scenarios.find((s) => s.id === id)
  if (!scenario) throw new Error(`unknown row "${id}"; one of ${scenarios.map((s) => s.id).join(', ')}`)
  const dir = fileURLToPath(new URL(`results/profiles/${id}/`, import.meta.url))
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })

  const authProcess = forkScript('auth-service.ts')
  const { auth } = await nextMessage<{ type: 'ready'; auth: BenchSetup['auth'] }>(authProcess, 'ready')
  const widget = await createWidgetKey({ iterations: 600_000 })
  const setup: BenchSetup = {
    workerKey: `wk_${randomBytes(24).toString('base64url')}`,
    widgetKey: widget.key,
    widgetRecord: formatHashRecord(widget.record, 'phc') as string,
    widgetTenant: 'tenant-bench',
    auth,
  }
  const bundle = `${dir}server.mjs`
  await build({
    entryPoints: [fileURLToPath(new URL('server.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: bundle,
    logLevel: 'warning',
    sourcemap: 'external',
  })
  const server = await BenchServer.start(id, setup, ['--cpu-prof', '--cpu-prof-dir', dir], bundle)
  const request = scenario.request(setup)
  const result = await runLoad({
    url: server.url,
    headers: request.headers,
    ...(request.vary ? { vary: request.vary } : {}),
    connections: 50,
    seconds,
  })
  await server.stop()
  authProcess.kill()
  console.log(`${id}: ${result.okPerSecond.toFixed(0)} 2xx/s over ${seconds} s`)
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
  if (!file) throw new Error('no profile written')
  bundleModules = bundleModulesOf(readFileSync(bundle, 'utf8'))
  bundleMap = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')))
  console.log(summariseProfile(JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as CpuProfile))
  console.log(`\nprofile: ${dir}${file}`)
}

await main()

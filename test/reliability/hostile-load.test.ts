/**
 * Load with hostile traffic: for KEYWARD_RELIABILITY_SECONDS (default 20) s, 32 connections send
 * widget-key requests as fast as they are answered, of which half carry wrong keys, across
 * 10 000 tenants picked at random. Most wrong keys are well-formed (right prefix, length and
 * checksum, so each one costs a full 600 000-iteration PBKDF2 unless refused), the rest malformed
 * (refused before any hashing, `keyPrefix: 'wid_'`). The other half carry valid keys: mostly of
 * tenants whose key was verified before the flood, some of tenants never seen.
 *
 * The server runs in its own process. Beside it runs a control: the same Express server without
 * keyward, in a process of its own, under an identical flood at the same time. Checked: the
 * server's event-loop p99 delay exceeds the control's by less than ELD_EXCESS_LIMIT_MS — what
 * keyward adds to the event loop, whatever else the machine is doing (a busy core raises both);
 * no more PBKDF2 derivations run at once than `maxHashesInFlight`; no wrong key is ever accepted
 * and no valid key ever refused as wrong (only 503 "cannot decide now" when hashing is at its
 * bound); valid keys already verified keep being served every second of the flood; the heap
 * after GC grows by less than 64 MB; and no key appears in the server's output.
 *
 * The absolute figure (p99 under 50 ms on a quiet machine) is a target, not an assertion: the
 * report in results/hostile-load.md says whether this run met it, with the control's figure and
 * the CPU other processes took meanwhile; `npm run bench` measures it on a quiet machine.
 *
 * The bound is 1 here because the machine has 2 cores: one hashes, one runs the event loop (and
 * the load generator shares them too). With the default of 8 — more than libuv's 4 threads —
 * four PBKDF2 threads starve the event loop on 2 cores (p99 around 75 ms measured). A guard that
 * hashed on the event loop would add a whole derivation (about 200 ms at 600 000 iterations) to
 * nearly every delay.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkWidgetKeyShape } from '../../src/index.js'
import { findSecret, secret } from '../helpers/secrets.js'
import { ForeignLoad } from './helpers/foreign-load.js'
import type { HostileServerConfig, HostileServerMessage } from './helpers/hostile-widget-server.js'

const SECONDS = Number(process.env.KEYWARD_RELIABILITY_SECONDS ?? 20)
const CONFIG: HostileServerConfig = {
  iterations: Number(process.env.KEYWARD_RELIABILITY_ITERATIONS ?? 600_000),
  tenants: 10_000,
  keys: 16,
  warmTenants: 24,
  maxHashesInFlight: 1,
}
const CONNECTIONS = 32
/** The target on a quiet machine, reported, not asserted. */
const ELD_P99_TARGET_MS = 50
/**
 * Most the server's p99 may exceed the control's. Measured on the 2-core machine, 8 s windows,
 * while other processes took about a core: −35 ms; with one more core kept busy
 * (`node -e 'for(;;){}'`), +43 to +63 ms in three runs. 200 is over four times the typical
 * excess and three times the worst seen; a guard that hashed on the event loop for only one
 * request in twenty measured +1 079 ms.
 */
const ELD_EXCESS_LIMIT_MS = 200
const HEAP_GROWTH_LIMIT_MB = 64

type Kind = 'wrong-wellformed' | 'wrong-malformed' | 'valid-warm' | 'valid-cold'

/** A wrong key that passes the shape check: `wid_` + 28 random characters + their checksum. */
function wellFormedWrongKey(): string {
  const body = randomBytes(21).toString('base64url')
  const checksum = createHash('sha256').update(`wid_${body}`).digest().subarray(0, 3).toString('base64url')
  return `wid_${body}${checksum}`
}

function nextMessage<T extends HostileServerMessage['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs = 90_000,
) {
  return new Promise<Extract<HostileServerMessage, { type: T }>>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no ${type} from the server`))
    }, timeoutMs)
    const onMessage = (message: HostileServerMessage) => {
      if (message.type !== type) return
      done()
      resolve(message as Extract<HostileServerMessage, { type: T }>)
    }
    const onExit = (code: number | null) => {
      done()
      reject(new Error(`the server exited (${code})`))
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

describe(`hostile load (${SECONDS} s, 50% wrong widget keys across ${CONFIG.tenants} tenants)`, () => {
  let child: ChildProcess
  let control: ChildProcess
  let output = ''
  let keys: string[] = []
  let port = 0
  let controlPort = 0
  let foreign: ForeignLoad

  /** Forks a server process and waits until it listens. */
  async function startServer(config: HostileServerConfig) {
    const server = fork(fileURLToPath(new URL('./helpers/hostile-widget-server.ts', import.meta.url)), [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    server.stdout?.on('data', (chunk) => {
      output += chunk
    })
    server.stderr?.on('data', (chunk) => {
      output += chunk
    })
    const ready = nextMessage(server, 'ready')
    server.send({ type: 'start', config })
    return { server, ...(await ready) }
  }

  beforeAll(async () => {
    ;[{ server: child, port, keys }, { server: control, port: controlPort }] = await Promise.all([
      startServer(CONFIG),
      startServer({ ...CONFIG, control: true }),
    ])
    for (const key of keys) secret(key)
    foreign = new ForeignLoad(() => [process.pid, child.pid ?? 0, control.pid ?? 0])
  })

  afterAll(() => {
    child?.kill()
    control?.kill()
  })

  /** One load window: the flood for SECONDS, tallied by kind of request and status. */
  async function floodWindow() {
    const tally: Record<Kind, Record<number, number>> = {
      'wrong-wellformed': {},
      'wrong-malformed': {},
      'valid-warm': {},
      'valid-cold': {},
    }
    const warmServedPerSecond = new Array<number>(SECONDS + 1).fill(0)
    const pick = (n: number) => Math.floor(Math.random() * n)
    const foreignStart = foreign.sample()
    child.send({ type: 'begin' })
    control.send({ type: 'begin' })
    const startedAt = performance.now()
    const flood = (url: string, onResponse?: (status: number, context: Record<string, unknown>) => void) =>
      autocannon({
        url,
        connections: CONNECTIONS,
        duration: SECONDS,
        timeout: 10,
        requests: [
          {
            setupRequest: (request, context) => {
              const roll = Math.random()
              let kind: Kind
              let tenant: number
              let key: string
              if (roll < 0.4) {
                kind = 'wrong-wellformed'
                tenant = pick(CONFIG.tenants)
                key = wellFormedWrongKey()
              } else if (roll < 0.5) {
                kind = 'wrong-malformed'
                tenant = pick(CONFIG.tenants)
                key = `wid_${randomBytes(24).toString('base64url')}`
              } else if (roll < 0.9) {
                kind = 'valid-warm'
                tenant = pick(CONFIG.warmTenants)
                key = keys[tenant % CONFIG.keys]!
              } else {
                kind = 'valid-cold'
                tenant = CONFIG.warmTenants + pick(CONFIG.tenants - CONFIG.warmTenants)
                key = keys[tenant % CONFIG.keys]!
              }
              context.kind = kind
              return {
                ...request,
                headers: { ...request.headers, 'x-tenant-id': `t${tenant}`, 'x-widget-key': key },
              }
            },
            onResponse: (status, _body, context) => onResponse?.(status, context),
          },
        ],
      })
    const [result, controlResult] = await Promise.all([
      flood(`http://127.0.0.1:${port}/`, (status, context) => {
        const kind = context.kind as Kind
        tally[kind][status] = (tally[kind][status] ?? 0) + 1
        if (kind === 'valid-warm' && status === 200) {
          warmServedPerSecond[Math.min(SECONDS, Math.floor((performance.now() - startedAt) / 1000))]!++
        }
      }),
      flood(`http://127.0.0.1:${controlPort}/`),
    ])
    const foreignCores = foreign.coresSince(foreignStart)
    const stats = nextMessage(child, 'stats')
    const controlStats = nextMessage(control, 'stats')
    child.send({ type: 'stats' })
    control.send({ type: 'stats' })
    return {
      tally,
      warmServedPerSecond,
      result,
      controlResult,
      server: await stats,
      control: await controlStats,
      foreignCores,
    }
  }

  it('keeps the event loop responsive, PBKDF2 bounded, valid keys served and nothing wrongly allowed', async () => {
    expect(checkWidgetKeyShape(wellFormedWrongKey(), 'wid_').ok, 'the wrong keys pass the shape check').toBe(
      true,
    )
    const { tally, warmServedPerSecond, result, controlResult, server, control, foreignCores } =
      await floodWindow()
    const excess = server.eld.p99 - control.eld.p99

    const sum = (counts: Record<number, number>) => Object.values(counts).reduce((a, b) => a + b, 0)
    const fullSeconds = warmServedPerSecond.slice(0, SECONDS - 1)
    const summary = [
      `# Hostile load: ${SECONDS} s, ${CONNECTIONS} connections, ${CONFIG.tenants.toLocaleString('en')} tenants, PBKDF2 ${CONFIG.iterations.toLocaleString('en')} iterations, maxHashesInFlight ${CONFIG.maxHashesInFlight}`,
      '',
      '| requests | answers by status |',
      '|---|---|',
      ...(Object.keys(tally) as Kind[]).map(
        (kind) => `| ${kind} (${sum(tally[kind]).toLocaleString('en')}) | ${JSON.stringify(tally[kind])} |`,
      ),
      '',
      `- event loop delay: p50 ${server.eld.p50.toFixed(1)} ms, p99 ${server.eld.p99.toFixed(1)} ms, max ${server.eld.max.toFixed(1)} ms (target on a quiet machine p99 < ${ELD_P99_TARGET_MS} ms: ${server.eld.p99 < ELD_P99_TARGET_MS ? 'met' : 'not met'}); longest GC pause ${server.gcMaxMs.toFixed(1)} ms`,
      `- control (the same server without keyward, under an identical flood at the same time): p50 ${control.eld.p50.toFixed(1)} ms, p99 ${control.eld.p99.toFixed(1)} ms, max ${control.eld.max.toFixed(1)} ms, ${(controlResult.requests.total / SECONDS).toFixed(0)} requests/s; keyward's p99 exceeds it by ${excess.toFixed(1)} ms (limit ${ELD_EXCESS_LIMIT_MS} ms)`,
      `- PBKDF2: ${server.guard.hashes} derivations, at most ${server.guard.hashesPeak} at once (bound ${CONFIG.maxHashesInFlight}), ${server.guard.hashesRefused} refused with 503`,
      `- verified tenants' valid keys served per second: min ${Math.min(...fullSeconds)}, median ${[...fullSeconds].sort((a, b) => a - b)[fullSeconds.length >> 1]}`,
      `- heap after GC: ${server.heapBeforeMb.toFixed(1)} MB before, ${server.heapAfterMb.toFixed(1)} MB after (peak without GC ${server.heapPeakMb.toFixed(1)} MB); record cache ${server.guard.size} tenants`,
      `- client: ${(result.requests.total / SECONDS).toFixed(0)} requests/s, ${result.errors} connection errors; other processes on the machine used ${foreignCores.toFixed(2)} cores meanwhile`,
      '',
    ].join('\n')
    console.log(summary)
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
    writeFileSync(new URL('./results/hostile-load.md', import.meta.url), summary)

    // nothing wrongly allowed; wrong keys refused as wrong, or not checked at all under the bound
    for (const kind of ['wrong-wellformed', 'wrong-malformed'] as const) {
      expect(tally[kind][200] ?? 0, `${kind} accepted`).toBe(0)
      for (const status of Object.keys(tally[kind]).map(Number))
        expect([401, 503], `${kind}: ${status}`).toContain(status)
    }
    expect(Object.keys(tally['wrong-malformed']).map(Number), 'malformed keys never reach hashing').toEqual([
      401,
    ])
    // valid keys: never called wrong; at worst "cannot check now" while hashing is at its bound
    for (const kind of ['valid-warm', 'valid-cold'] as const) {
      for (const status of Object.keys(tally[kind]).map(Number))
        expect([200, 503], `${kind}: ${status}`).toContain(status)
    }
    const warm = tally['valid-warm']
    expect((warm[200] ?? 0) / sum(warm), 'verified keys served').toBeGreaterThan(0.99)
    expect(Math.min(...fullSeconds), 'verified keys served in every second of the flood').toBeGreaterThan(0)
    expect(excess, "keyward's event-loop p99 over the control's, ms").toBeLessThan(ELD_EXCESS_LIMIT_MS)
    expect(server.guard.hashesPeak).toBeLessThanOrEqual(CONFIG.maxHashesInFlight)
    expect(server.guard.hashesRefused, 'the flood did reach the bound').toBeGreaterThan(0)
    expect(server.heapAfterMb - server.heapBeforeMb).toBeLessThan(HEAP_GROWTH_LIMIT_MB)
    expect(findSecret(output), 'a key in the server output').toBeUndefined()
  })
})

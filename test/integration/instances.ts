import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { InvalidationStats } from '../../src/postgres/index.js'
import type { InstanceConfig, InstanceMessage, InstanceRequest } from './instance.js'

const RUNNER = fileURLToPath(new URL('./instance.ts', import.meta.url))

/** A running instance process, seen from the test. */
export interface Instance {
  index: number
  url: string
  child: ChildProcess
  /** Invalidations its bus handed it, in order; `id: null` = drop everything (a flush after reconnecting). */
  invalidations: Array<{ id: string | null; at: number }>
  /** Set if the process exited on its own: a crash. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  /** What it wrote to stderr, for the failure message. */
  stderr(): string
}

/** Wall-clock ms with sub-ms precision, comparable with the instances' `at` times (same machine). */
export const now = () => performance.timeOrigin + performance.now()

/** Forks one instance per config (in parallel) and resolves once every one listens. */
export async function startInstances(configs: InstanceConfig[]): Promise<Instance[]> {
  return Promise.all(configs.map(startInstance))
}

function startInstance(config: InstanceConfig): Promise<Instance> {
  const child = fork(RUNNER, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, KEYWARD_INSTANCE: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const instance: Instance = {
    index: config.index,
    url: '',
    child,
    invalidations: [],
    exit: undefined,
    stderr: () => stderr,
  }
  child.on('exit', (code, signal) => {
    instance.exit = { code, signal }
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`instance ${config.index} did not start within 15 s\n${stderr}`)),
      15_000,
    )
    child.on('message', (message: InstanceMessage) => {
      if (message.type === 'listening') {
        clearTimeout(timer)
        instance.url = `http://127.0.0.1:${message.port}`
        resolve(instance)
      } else if (message.type === 'invalidation') {
        instance.invalidations.push({ id: message.id, at: message.at })
      } else if (message.type === 'failed') {
        clearTimeout(timer)
        reject(new Error(`instance ${config.index} failed to start: ${message.error}\n${stderr}`))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`instance ${config.index} exited (${code}) before listening\n${stderr}`))
    })
  })
}

/** Asks an instance for its decision counts (by "status reason") and its bus counters. */
export function instanceStats(
  instance: Instance,
): Promise<{ reasons: Record<string, number>; bus: InvalidationStats }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`instance ${instance.index} did not answer a stats request`)),
      5_000,
    )
    const onMessage = (message: InstanceMessage) => {
      if (message.type !== 'stats') return
      clearTimeout(timer)
      instance.child.off('message', onMessage)
      resolve({ reasons: message.reasons, bus: message.bus })
    }
    instance.child.on('message', onMessage)
    instance.child.send({ type: 'stats' } satisfies InstanceRequest)
  })
}

/** Ends the instances: closing IPC makes each shut down cleanly; a straggler is killed. */
export async function stopInstances(instances: readonly Instance[]): Promise<void> {
  await Promise.all(
    instances.map(
      (instance) =>
        new Promise<void>((resolve) => {
          if (instance.exit !== undefined || instance.child.exitCode !== null) return resolve()
          const kill = setTimeout(() => instance.child.kill('SIGKILL'), 3_000)
          instance.child.once('exit', () => {
            clearTimeout(kill)
            resolve()
          })
          instance.child.disconnect()
        }),
    ),
  )
}

/**
 * One GET of the widget route with a tenant and key; returns the status (0 when the connection
 * failed: an instance that crashed) and when the request was sent and answered.
 */
export async function callWidget(
  instance: Instance,
  tenant: string,
  key: string,
): Promise<{ status: number; sentAt: number; answeredAt: number }> {
  const sentAt = now()
  try {
    const res = await fetch(`${instance.url}/widget/config`, {
      headers: { 'x-tenant-id': tenant, 'x-widget-key': key },
    })
    await res.arrayBuffer()
    return { status: res.status, sentAt, answeredAt: now() }
  } catch {
    return { status: 0, sentAt, answeredAt: now() }
  }
}

/** Runs each loop until `stop()`, which waits for them to finish their current request. */
export function background(loops: Array<(running: () => boolean) => Promise<void>>) {
  let running = true
  const done = Promise.all(loops.map((loop) => loop(() => running)))
  return {
    async stop() {
      running = false
      await done
    },
  }
}

/** Nearest-rank percentile of a list of numbers (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}

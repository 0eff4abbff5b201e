import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { BenchSetup, OrchestratorMessage, ServerMessage } from './setup.js'

const here = fileURLToPath(new URL('.', import.meta.url))

/**
 * Starts a file of `bench/` as a child process with an IPC channel: TypeScript through tsx, or
 * an absolute path to plain JavaScript (the profiler's bundle).
 */
export function forkScript(file: string, execArgv: string[] = [], args: string[] = []): ChildProcess {
  const javascript = file.endsWith('.mjs')
  return fork(javascript ? file : `${here}${file}`, args, {
    execArgv: javascript ? execArgv : [...execArgv, '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
}

/** The next IPC message of a type from a child; rejects if the child exits or takes too long. */
export function nextMessage<T extends { type: string }>(
  child: ChildProcess,
  type: T['type'],
  timeoutMs = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no "${type}" message within ${timeoutMs} ms`)), timeoutMs)
    const onMessage = (message: { type?: string; message?: string }) => {
      if (message?.type === type) done(undefined, message as T)
      else if (message?.type === 'failed') done(new Error(message.message ?? 'child failed'))
    }
    const onExit = (code: number | null) => done(new Error(`child exited (${code}) before sending "${type}"`))
    const done = (error?: Error, message?: T) => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve(message as T)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** One scenario's server, in its own process. */
export class BenchServer {
  private constructor(
    readonly scenario: string,
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** The server's process id (for CPU accounting and pinning). */
  get pid(): number {
    return this.child.pid ?? 0
  }

  static async start(
    scenario: string,
    setup: BenchSetup,
    execArgv: string[] = [],
    script = 'server.ts',
  ): Promise<BenchServer> {
    const child = forkScript(script, execArgv)
    const listening = nextMessage<Extract<ServerMessage, { type: 'listening' }>>(child, 'listening')
    child.send({ type: 'start', scenario, setup } satisfies OrchestratorMessage)
    const { port } = await listening
    return new BenchServer(scenario, child, `http://127.0.0.1:${port}/`)
  }

  async stats(): Promise<Record<string, number>> {
    const answer = nextMessage<Extract<ServerMessage, { type: 'stats' }>>(this.child, 'stats')
    this.child.send({ type: 'stats' } satisfies OrchestratorMessage)
    return (await answer).stats
  }

  async cpuMicros(): Promise<number> {
    const answer = nextMessage<Extract<ServerMessage, { type: 'cpu' }>>(this.child, 'cpu')
    this.child.send({ type: 'cpu' } satisfies OrchestratorMessage)
    return (await answer).micros
  }

  /**
   * Waits until the server is idle (under 3% of a core over 250 ms, at most `maxMs`): work a
   * run leaves behind — PBKDF2 still queued on libuv's pool after the client hung up — must not
   * be billed to the next row.
   */
  async settle(maxMs = 30_000): Promise<number> {
    const startedAt = performance.now()
    let last = await this.cpuMicros()
    while (performance.now() - startedAt < maxMs) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      const now = await this.cpuMicros()
      const busy = (now - last) / 250_000
      last = now
      if (busy < 0.03) break
    }
    return performance.now() - startedAt
  }

  /** Asks the process to exit (SIGINT, so a `--cpu-prof` profile is written) and waits. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGINT')
    await exited
  }
}

import net from 'node:net'

/** Where the suites find Postgres and Redis; CI and a developer's machine set the same variables. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const HOW_TO_START = {
  postgres:
    'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
    '(or point DATABASE_URL at one)',
  redis:
    'start it with `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no` ' +
    '(or point REDIS_URL at one)',
} as const

export type Service = keyof typeof HOW_TO_START

/** Whether a TCP connection to the service's host and port opens within a second. */
function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Probes the services a test file needs. In CI a missing service fails the file with how to start
 * it; elsewhere the file's suites are skipped with the same message. Use with `describe.skipIf(skip)`.
 */
export async function requireServices(...services: Service[]): Promise<{ skip: boolean }> {
  const missing: Service[] = []
  for (const service of services) {
    const ok = service === 'postgres' ? await reachable(DATABASE_URL, 5432) : await reachable(REDIS_URL, 6379)
    if (!ok) missing.push(service)
  }
  if (missing.length === 0) return { skip: false }
  const message = missing
    .map(
      (service) =>
        `${service} is not reachable at ${address(service === 'postgres' ? DATABASE_URL : REDIS_URL)}: ${HOW_TO_START[service]}`,
    )
    .join('; ')
  if (process.env.CI) throw new Error(`These tests need real services. ${message}`)
  console.warn(`Skipping: ${message}`)
  return { skip: true }
}

/** Host and port only: a URL may carry a password. */
function address(url: string): string {
  const { hostname, port } = new URL(url)
  return `${hostname}:${port || 'default port'}`
}

/** A name no other test file (or earlier run) uses: tables and channels stay apart when files run in parallel. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
}

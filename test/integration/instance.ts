/**
 * One runtime API instance, as a separate process: `node --import tsx test/integration/instance.ts`,
 * forked by `instances.ts` with its settings in the KEYWARD_INSTANCE environment variable.
 *
 * It does what a production instance does (verifyWidgetKey over pgRecordResolver, push
 * invalidation over Postgres or Redis, a health check) and tells its parent, over IPC, when it
 * listens and when its bus hands it an invalidation, with a wall-clock time in ms.
 */
import type { Server } from 'node:http'
import express from 'express'
import { Redis as IoRedis } from 'ioredis'
import pg from 'pg'
import { createClient } from 'redis'
import { healthCheck } from '../../src/express/health-check.js'
import { verifyWidgetKey } from '../../src/index.js'
import { type InvalidationStats, pgInvalidation, pgRecordResolver } from '../../src/postgres/index.js'
import { redisInvalidation } from '../../src/redis/index.js'

/** Settings of one instance, sent by the parent. */
export interface InstanceConfig {
  index: number
  bus: 'postgres' | 'redis'
  table: string
  channel: string
  /** CLIENT name (Redis) / application_name (Postgres) prefix, so a test can find this instance's connections. */
  name: string
  /** Wait before the bus reconnects, ms: long enough for a test to publish while it is away. */
  reconnectDelay: number
  databaseUrl: string
  redisUrl: string
}

/** What an instance tells its parent. */
export type InstanceMessage =
  | { type: 'listening'; port: number }
  | { type: 'invalidation'; id: string | null; at: number }
  | { type: 'stats'; reasons: Record<string, number>; bus: InvalidationStats }
  | { type: 'failed'; error: string }

/** What the parent may ask. */
export type InstanceRequest = { type: 'stats' }

const config = JSON.parse(process.env.KEYWARD_INSTANCE ?? '{}') as InstanceConfig
const now = () => performance.timeOrigin + performance.now()
const tell = (message: InstanceMessage) => process.send?.(message)
const closers: Array<() => Promise<unknown> | unknown> = []

async function makeBus() {
  if (config.bus === 'postgres') {
    // half the instances LISTEN on a client of a pool, half on clients they make: both paths
    if (config.index % 2 === 0) {
      const listenPool = new pg.Pool({
        connectionString: config.databaseUrl,
        max: 1,
        application_name: `${config.name}-listen`,
      })
      closers.push(() => listenPool.end())
      return pgInvalidation({
        client: listenPool,
        channel: config.channel,
        reconnectDelay: config.reconnectDelay,
      })
    }
    return pgInvalidation({
      channel: config.channel,
      reconnectDelay: config.reconnectDelay,
      connect: async () => {
        const client = new pg.Client({
          connectionString: config.databaseUrl,
          application_name: `${config.name}-listen`,
        })
        await client.connect()
        return client
      },
    })
  }
  // half the instances use the official client, half ioredis: both in one deployment
  if (config.index % 2 === 0) {
    const subscriber = createClient({
      url: config.redisUrl,
      name: `${config.name}-sub`,
      socket: { reconnectStrategy: () => config.reconnectDelay },
    })
    await subscriber.connect()
    closers.push(() => subscriber.destroy())
    return redisInvalidation({ subscriber, channel: config.channel })
  }
  const subscriber = new IoRedis(config.redisUrl, {
    connectionName: `${config.name}-sub`,
    retryStrategy: () => config.reconnectDelay,
  })
  closers.push(() => subscriber.disconnect())
  return redisInvalidation({ subscriber, channel: config.channel })
}

async function main() {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: 8,
    application_name: `${config.name}-records`,
  })
  const bus = await makeBus()
  closers.unshift(() => bus.close())
  closers.push(() => pool.end())
  // decisions by "status reason": how many allows came from refresh-on-mismatch, how many 503s
  const reasons: Record<string, number> = {}
  const guard = verifyWidgetKey({
    records: pgRecordResolver({ pool, table: config.table }),
    invalidation: bus,
    // a rotation under steady traffic verifies up to three distinct cold keys of one tenant at
    // once (the retiring key against the new record, the new key, the one before): above the
    // default share of 2, which would answer one of them 503 + Retry-After
    maxHashesPerTenant: 4,
    onDecision: (event) => {
      const name = `${event.status} ${event.reason}`
      reasons[name] = (reasons[name] ?? 0) + 1
    },
  })
  process.on('message', (message: InstanceRequest) => {
    if (message.type === 'stats') tell({ type: 'stats', reasons: { ...reasons }, bus: bus.stats() })
  })
  // after the guard's own listener: when the parent hears of a message, the guard has acted on it
  bus.subscribe((id) => tell({ type: 'invalidation', id: id ?? null, at: now() }))

  const app = express()
  app.get('/widget/config', guard, (req, res) => {
    res.json({ instance: config.index, tenant: req.auth?.kind === 'widget' ? req.auth.tenantId : undefined })
  })
  app.get('/health', healthCheck({ names: ['widget', 'bus'] }, guard, bus))
  await guard.ready()
  await bus.ready()
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening))
  })
  closers.unshift(() => new Promise((resolve) => server.close(resolve)))
  const address = server.address()
  tell({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 })
}

async function shutdown(code: number) {
  for (const close of closers) {
    try {
      await close()
    } catch {
      // shutting down either way
    }
  }
  process.exit(code)
}

// the parent going away (test finished or crashed) ends the instance
process.on('disconnect', () => void shutdown(0))
main().catch((error: unknown) => {
  tell({ type: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
  void shutdown(1)
})

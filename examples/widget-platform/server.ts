/**
 * A widget platform on Postgres with push invalidation: `npx tsx examples/widget-platform/server.ts`
 * Admin API on :3200 (X-Worker-Key: $ADMIN_KEY); two runtime instances on :3201 and :3202, as two
 * instances behind a load balancer would be (PORT=N moves them to N, N+1, N+2). Needs Postgres
 * (DATABASE_URL) and, for the default bus, Redis (REDIS_URL); KEYWARD_BUS=postgres uses
 * LISTEN/NOTIFY and the trigger instead.
 */
import { readFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import pg from 'pg'
import { createClient } from 'redis'
import { pgInvalidation } from '../../src/postgres/index.js'
import { redisInvalidation } from '../../src/redis/index.js'
import { listenOrExit } from '../http.js'
import { adminApp, runtimeApp } from './apps.js'

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const bus = process.env.KEYWARD_BUS === 'postgres' ? 'postgres' : 'redis'
const host = '127.0.0.1'
const base = Number(process.env.PORT ?? 3200)
const fix = 'stop it, or set PORT to move all three ports'
process.env.ADMIN_KEY ??= 'demo-admin-key-0123456789abcdef0123456789'

const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 })
try {
  await pool.query(await readFile(new URL('./schema.sql', import.meta.url), 'utf8'))
} catch (error) {
  console.error(
    `Cannot reach Postgres (${(error as { code?: string }).code ?? 'error'}). Set DATABASE_URL, or start it with\n` +
      '  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  )
  process.exit(1)
}

const closers: Array<() => unknown> = [() => pool.end()]
const channel = 'keyward_widget_keys'

async function makeBuses() {
  if (bus === 'postgres') {
    // the trigger in schema.sql announces every write; each instance LISTENs on a pooled client
    const runtimes = [1, 2].map(() => pgInvalidation({ client: pool, channel }))
    return { announce: undefined, runtimes }
  }
  const publisher = createClient({ url: redisUrl })
  publisher.on('error', () => {})
  try {
    await publisher.connect()
  } catch {
    console.error(
      'Cannot reach Redis. Set REDIS_URL, run with KEYWARD_BUS=postgres, or start it with\n' +
        '  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    )
    process.exit(1)
  }
  closers.push(() => publisher.destroy())
  const runtimes = await Promise.all(
    [1, 2].map(async () => {
      // each instance subscribes on its own connection, as separate processes would
      const subscriber = publisher.duplicate()
      await subscriber.connect()
      closers.push(() => subscriber.destroy())
      return redisInvalidation({ subscriber, channel })
    }),
  )
  return { announce: redisInvalidation({ publisher, channel }), runtimes }
}

const { announce, runtimes } = await makeBuses()
const servers: Server[] = []
const admin = adminApp({ pool, ...(announce ? { announce } : {}) })
servers.push(await listenOrExit(admin, base, host, 'widget admin API', fix))
for (const [index, invalidation] of runtimes.entries()) {
  const { app, widgetKey } = runtimeApp({ pool, invalidation, name: `runtime-${index + 1}` })
  await widgetKey.ready()
  await invalidation.ready()
  closers.unshift(() => invalidation.close())
  servers.push(await listenOrExit(app, base + 1 + index, host, `widget runtime-${index + 1}`, fix))
}

const adminUrl = `http://${host}:${base}`
const runtimeUrls = [1, 2].map((n) => `http://${host}:${base + n}`)
const key = `-H "X-Worker-Key: ${process.env.ADMIN_KEY}"`
console.log(`Widget platform (invalidation over ${bus})
  admin API  ${adminUrl}
  runtimes   ${runtimeUrls.join('  ')}

1. Create a key for tenant "acme" (shown once; Postgres keeps only its PBKDF2 record):
   curl -s -X PUT ${adminUrl}/tenants/acme/widget-key ${key}
   ("announced": false in the answer: stored and usable, but the runtimes were not told; see the README)
2. Use it on both runtimes (the first call derives the hash, later ones are cached):
   curl -i ${runtimeUrls[0]}/widget/config -H "X-Tenant-Id: acme" -H "X-Widget-Key: <key>"
   curl -i ${runtimeUrls[1]}/widget/config -H "X-Tenant-Id: acme" -H "X-Widget-Key: <key>"
3. Rotate it: the new key works on both at once, the old one is refused on both at once:
   curl -s -X PUT ${adminUrl}/tenants/acme/widget-key ${key}
4. Revoke it, or change it behind the admin API's back (with KEYWARD_BUS=postgres the trigger tells the runtimes):
   curl -i -X DELETE ${adminUrl}/tenants/acme/widget-key ${key}
   psql "${new URL(databaseUrl).password ? '$DATABASE_URL' : databaseUrl}" -c "UPDATE tenant_settings SET widget_api_key_hash = NULL WHERE tenant_id = 'acme'"
5. Health, as a load balancer sees it:
   curl -i ${runtimeUrls[0]}/health
`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    for (const server of servers) server.close()
    for (const close of closers) await close()
  })
}

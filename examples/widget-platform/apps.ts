/**
 * The two sides of a widget platform on Postgres, as separate Express apps:
 * - the admin API creates, rotates and revokes a tenant's widget key (the key is shown once; the
 *   database keeps its PBKDF2 record) and tells every runtime instance on the bus — or, with the
 *   Postgres trigger, lets the database tell them, which no failure between the two can skip;
 * - the runtime API verifies the keys browsers send, reading records through `pgRecordResolver`
 *   and dropping cached ones when the bus says so.
 */
import express from 'express'
import type pg from 'pg'
import { healthCheck } from '../../src/express/health-check.js'
import {
  createWidgetKey,
  formatHashRecord,
  fromEnv,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { pgRecordResolver } from '../../src/postgres/index.js'
import type { InvalidationSource } from '../../src/widget-key/verify-widget-key.js'
import { jsonErrors, notFound } from '../http.js'

/** Something that tells every runtime instance to drop a tenant's cached record. */
export interface Announcer {
  publish(tenantId?: string): Promise<void>
}

export interface AdminAppOptions {
  pool: pg.Pool
  /**
   * Called after each write. With Redis, `redisInvalidation({ publisher }).publish`; with the
   * Postgres trigger the database announces writes itself, so nothing is needed.
   */
  announce?: Announcer
  /** Publishes tried before the answer says the runtimes were not told; 3 by default. */
  announceAttempts?: number
  /**
   * Longest wait for one publish, ms; 1000 by default. A Redis client that lost its connection
   * queues commands until it is back, so without a bound a publish could wait for ever.
   */
  announceTimeout?: number
  /** PBKDF2 iterations of new keys; 600 000 by default (OWASP 2023 for SHA-256), lower only in tests. */
  iterations?: number
}

/** Said when a write is stored but no runtime was told: it is what the caller needs to decide. */
const NOT_ANNOUNCED =
  'Stored, but the runtimes could not be told (the invalidation bus did not answer). Until they hear of it, ' +
  "each may keep using the tenant's previous record for at most its recordTtl (60 s by default)."

/** The admin API: PUT /tenants/:id/widget-key creates or rotates a key, DELETE revokes it. */
export function adminApp({
  pool,
  announce,
  announceAttempts = 3,
  announceTimeout = 1_000,
  iterations = 600_000,
}: AdminAppOptions) {
  const app = express()
  const adminKey = requireWorkerKey({ keys: fromEnv('ADMIN_KEY') })
  app.get('/health', healthCheck({ names: ['admin-key'] }, adminKey))
  app.use('/tenants', adminKey)

  /**
   * Tells the runtimes, after the commit (an instance that re-reads on the message must see the
   * new record). True when sent; false when every attempt failed, which the answer then says.
   */
  async function announced(tenantId: string): Promise<boolean> {
    if (announce === undefined) return true
    for (let attempt = 1; attempt <= announceAttempts; attempt++) {
      try {
        await withTimeout(announce.publish(tenantId), announceTimeout)
        return true
      } catch (error) {
        console.error(
          `widget admin API: publish for tenant ${tenantId} failed (attempt ${attempt} of ${announceAttempts}): ${errorName(error)}`,
        )
        if (attempt < announceAttempts) await sleep(100 * 2 ** (attempt - 1))
      }
    }
    return false
  }

  /** Runs a write; when the database cannot take it, answers 503 (nothing changed, safe to retry). */
  async function write(res: express.Response, sql: string, values: unknown[]): Promise<boolean> {
    try {
      await pool.query(sql, values)
      return true
    } catch (error) {
      console.error(`widget admin API: the database refused a write: ${errorName(error)}`)
      res.status(503).set('Retry-After', '5').json({
        code: 'store_unavailable',
        message: 'The database did not take the change; nothing was changed. Try again.',
      })
      return false
    }
  }

  app.put('/tenants/:tenantId/widget-key', async (req, res, next) => {
    try {
      const { tenantId } = req.params
      const { key, record, fingerprint } = await createWidgetKey({ iterations })
      const stored = await write(
        res,
        `INSERT INTO tenant_settings (tenant_id, widget_api_key_hash) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET widget_api_key_hash = $2, updated_at = now()`,
        [tenantId, formatHashRecord(record, 'phc')],
      )
      if (!stored) return
      // The record is committed and the previous key's replaced: whatever the bus does, this
      // answer is the only chance to hand the key over, so it is always given. The new key works
      // on every runtime at once either way (a key that fails a cached record makes it re-read).
      const told = await announced(tenantId)
      res
        .status(201)
        .json({ tenantId, key, fingerprint, announced: told, ...(told ? {} : { warning: NOT_ANNOUNCED }) })
    } catch (error) {
      // Express 4 does not catch a rejected handler; both hand it to jsonErrors this way
      next(error)
    }
  })

  app.delete('/tenants/:tenantId/widget-key', async (req, res, next) => {
    try {
      const { tenantId } = req.params
      const stored = await write(
        res,
        'UPDATE tenant_settings SET widget_api_key_hash = NULL, updated_at = now() WHERE tenant_id = $1',
        [tenantId],
      )
      if (!stored) return
      if (await announced(tenantId)) {
        res.status(204).end()
        return
      }
      // 202: revoked, not yet everywhere. Repeating the DELETE is harmless and announces again.
      res.status(202).json({
        tenantId,
        revoked: true,
        announced: false,
        warning: `${NOT_ANNOUNCED} Repeat the DELETE to announce it again.`,
      })
    } catch (error) {
      next(error)
    }
  })
  app.use(notFound, jsonErrors('widget admin API'))
  return app
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** An error by class and code only: a driver's message can quote the statement or its values. */
function errorName(error: unknown): string {
  const { name = 'Error', code } = (error ?? {}) as { name?: string; code?: string }
  return `${name}${code ? ` (${code})` : ''}`
}

export interface RuntimeAppOptions {
  pool: pg.Pool
  /** The bus this instance listens on: `redisInvalidation({ subscriber })` or `pgInvalidation({ client })`. */
  invalidation: InvalidationSource & { ready(): Promise<void> }
  /** Shown in answers, to tell instances apart. */
  name: string
}

/** The runtime API: GET /widget/config for a browser widget, GET /health for the load balancer. */
export function runtimeApp({ pool, invalidation, name }: RuntimeAppOptions) {
  const app = express()
  const widgetKey = verifyWidgetKey({ records: pgRecordResolver({ pool }), invalidation })
  app.get('/health', healthCheck({ names: ['widget-key', 'invalidation'] }, widgetKey, invalidation))
  app.use('/widget', (req, res, next) => {
    // CORS for the tenants' sites; a preflight carries no key, so it is answered before the guard
    const origin = req.headers.origin
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Vary', 'Origin')
      res.setHeader('Access-Control-Allow-Headers', 'X-Widget-Key, X-Tenant-Id')
    }
    if (req.method === 'OPTIONS') res.status(204).end()
    else next()
  })
  app.get('/widget/config', widgetKey, (req, res) => {
    res.json({
      instance: name,
      tenant: req.auth?.kind === 'widget' ? req.auth.tenantId : undefined,
      theme: 'light',
    })
  })
  app.use(notFound, jsonErrors(`widget ${name}`))
  return { app, widgetKey }
}

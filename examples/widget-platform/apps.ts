/**
 * The two sides of a widget platform on Postgres, as separate Express apps:
 * - the admin API creates, rotates and revokes a tenant's widget key (the key is shown once; the
 *   database keeps its PBKDF2 record) and tells every runtime instance on the bus;
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
  /** PBKDF2 iterations of new keys; 600 000 by default (OWASP 2023 for SHA-256), lower only in tests. */
  iterations?: number
}

/** The admin API: PUT /tenants/:id/widget-key creates or rotates a key, DELETE revokes it. */
export function adminApp({ pool, announce, iterations = 600_000 }: AdminAppOptions) {
  const app = express()
  const adminKey = requireWorkerKey({ keys: fromEnv('ADMIN_KEY') })
  app.get('/health', healthCheck({ names: ['admin-key'] }, adminKey))
  app.use('/tenants', adminKey)

  app.put('/tenants/:tenantId/widget-key', async (req, res) => {
    const { tenantId } = req.params
    const { key, record, fingerprint } = await createWidgetKey({ iterations })
    await pool.query(
      `INSERT INTO tenant_settings (tenant_id, widget_api_key_hash) VALUES ($1, $2)
       ON CONFLICT (tenant_id) DO UPDATE SET widget_api_key_hash = $2, updated_at = now()`,
      [tenantId, formatHashRecord(record, 'phc')],
    )
    // after the commit: an instance that re-reads on the message must see the new record
    await announce?.publish(tenantId)
    // the only time the key exists outside the caller's hands
    res.status(201).json({ tenantId, key, fingerprint })
  })

  app.delete('/tenants/:tenantId/widget-key', async (req, res) => {
    const { tenantId } = req.params
    await pool.query(
      'UPDATE tenant_settings SET widget_api_key_hash = NULL, updated_at = now() WHERE tenant_id = $1',
      [tenantId],
    )
    await announce?.publish(tenantId)
    res.status(204).end()
  })
  return app
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
  return { app, widgetKey }
}

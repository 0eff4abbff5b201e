/**
 * The two sides of widget keys, sharing one hash store:
 * - the admin API creates and rotates a tenant's key (and shows it exactly once);
 * - the runtime API verifies the keys browsers send, with CORS for the tenants' sites.
 */
import express from 'express'
import {
  createWidgetKey,
  formatHashRecord,
  fromEnv,
  requireWorkerKey,
  verifyWidgetKey,
  type WidgetRecordInput,
} from '../../src/index.js'
import type { MemoryRecordStore } from '../../src/testing/memory-record-store.js'
import { jsonErrors, notFound } from '../http.js'

export interface WidgetAppsOptions {
  store: MemoryRecordStore
  /** PBKDF2 iterations for new keys; 600 000 by default, lower only in tests. */
  iterations?: number
}

/** The admin API: POST /tenants/:id/keys creates or rotates a key (`?graceSeconds=N` keeps the old one N s). */
export function adminApp({ store, iterations = 600_000 }: WidgetAppsOptions) {
  const app = express()
  app.use(requireWorkerKey({ keys: fromEnv('ADMIN_KEY') }))
  app.use(express.json())
  app.post('/tenants/:tenantId/keys', async (req, res, next) => {
    try {
      await createOrRotate(req, res)
    } catch (error) {
      // Express 4 does not catch a rejected handler; both hand it to jsonErrors this way
      next(error)
    }
  })
  const createOrRotate = async (req: express.Request<{ tenantId: string }>, res: express.Response) => {
    const tenantId = req.params.tenantId
    const origins = Array.isArray(req.body?.origins) ? (req.body.origins as string[]) : undefined
    const graceSeconds = Number(req.query.graceSeconds ?? 0)
    const { key, record } = await createWidgetKey({ iterations })
    const current = (await store.records(tenantId)) as WidgetRecordInput[] | null
    const fresh: WidgetRecordInput = {
      record: formatHashRecord(record, 'phc'),
      ...(origins ? { origins } : {}),
    }
    const kept =
      graceSeconds > 0 && Array.isArray(current)
        ? current
            .slice(0, 1)
            .map((entry) => ({ ...(entry as object), expiresAt: Date.now() + graceSeconds * 1000 }))
        : []
    store.set(tenantId, [fresh, ...(kept as WidgetRecordInput[])])
    // the only time the key exists outside the caller's hands: the store keeps its hash
    res.status(201).json({ tenantId, key, graceSeconds })
  }
  app.delete('/tenants/:tenantId/keys', (req, res) => {
    store.delete(req.params.tenantId)
    res.status(204).end()
  })
  app.use(notFound, jsonErrors('widget admin API'))
  return app
}

/** The runtime API: GET /widget/config for a browser widget, with CORS for any site (keys carry their own origins). */
export function runtimeApp({ store }: WidgetAppsOptions) {
  const app = express()
  const widgetKey = verifyWidgetKey({ records: store.records, invalidation: store.invalidation })
  app.use('/widget', (req, res, next) => {
    const origin = req.headers.origin
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Vary', 'Origin')
      res.setHeader('Access-Control-Allow-Headers', 'X-Widget-Key, X-Tenant-Id')
      res.setHeader('Access-Control-Allow-Methods', 'GET')
    }
    if (req.method === 'OPTIONS') res.status(204).end()
    else next()
  })
  app.get('/widget/config', widgetKey, (req, res) => {
    res.json({
      tenant: req.auth?.kind === 'widget' ? req.auth.tenantId : undefined,
      theme: 'light',
      greeting: 'Hello from the widget runtime',
    })
  })
  app.use(notFound, jsonErrors('widget runtime API'))
  return { app, widgetKey }
}

/** A tiny page that embeds the widget: it calls the runtime with the key it was given. */
export function widgetPage(runtimeUrl: string) {
  const app = express()
  app.get('/', (_req, res) => {
    res.type('html').send(`<!doctype html>
<meta charset="utf-8"><title>Widget demo</title>
<p>Tenant <input id="tenant" value="acme"> Key <input id="key" size="44"> <button id="load">Load widget</button></p>
<pre id="out">…</pre>
<script>
async function load(tenant, key) {
  const res = await fetch(${JSON.stringify(runtimeUrl)} + '/widget/config', { headers: { 'X-Tenant-Id': tenant, 'X-Widget-Key': key } })
  const text = await res.text()
  document.getElementById('out').textContent = res.status + ' ' + text
  return { status: res.status, body: text }
}
window.loadWidget = load
document.getElementById('load').onclick = () => load(document.getElementById('tenant').value, document.getElementById('key').value)
</script>`)
  })
  app.use(jsonErrors('widget page'))
  return app
}

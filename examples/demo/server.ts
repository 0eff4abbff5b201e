/**
 * The keyward demo: one protected route per middleware, on this machine only.
 * Run with `npm run demo`, then try the curl lines it prints.
 */
import express from 'express'
import {
  createWidgetKey,
  type DecisionEvent,
  delegateBearerAuth,
  formatHashRecord,
  fromEnv,
  httpValidator,
  requireScopes,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { memoryRecordStore, startAuthService } from '../../src/testing/index.js'
import { jsonErrors, listenOrExit, notFound } from '../http.js'

const port = Number(process.env.PORT ?? 3000)
const url = `http://127.0.0.1:${port}`
const logDecision = (event: DecisionEvent) => console.log('decision', JSON.stringify(event))

// The key is read from the environment when a request arrives (F1); the demo sets one if the
// shell did not, so it answers out of the box.
process.env.WORKER_KEY ??= 'demo-worker-key-0123456789abcdef0123456789'

// A widget key for tenant "acme": the store keeps only its PBKDF2 record.
const store = memoryRecordStore()
const widget = await createWidgetKey()
store.set('acme', formatHashRecord(widget.record, 'phc'))

// A local auth service (from keyward/testing) that checks bearer tokens the way yours would.
const authService = await startAuthService()
process.env.AUTH_SERVICE_URL ??= authService.validateUrl
const readToken = await authService.issue({ subject: 'reporting-job', scopes: ['items:read'] })

const app = express()
const workerGuard = requireWorkerKey({ keys: fromEnv('WORKER_KEY'), onDecision: logDecision })
const widgetGuard = verifyWidgetKey({ records: store.records, onDecision: logDecision })
const bearerGuard = delegateBearerAuth({
  validator: httpValidator({ url: fromEnv('AUTH_SERVICE_URL'), serviceId: 'demo' }),
  onDecision: logDecision,
})

app.post('/worker/jobs', workerGuard, (req, res) => {
  res.json({ accepted: true, auth: req.auth })
})
app.get('/widget/config', widgetGuard, (req, res) => {
  res.json({ tenant: req.auth?.kind === 'widget' ? req.auth.tenantId : undefined, theme: 'light' })
})

app.get('/items', bearerGuard, requireScopes('items:read'), (req, res) => {
  res.json({ caller: req.auth?.kind === 'bearer' ? req.auth.subject : undefined, items: ['teapot'] })
})
app.delete('/items/teapot', bearerGuard, requireScopes('items:write'), (_req, res) => {
  res.status(204).end()
})

app.use(notFound)
app.use(jsonErrors('keyward demo'))

await Promise.all([workerGuard.ready(), widgetGuard.ready(), bearerGuard.ready()])
const server = await listenOrExit(
  app,
  port,
  '127.0.0.1',
  'keyward demo',
  'stop it, or set PORT to another port',
)
console.log(`keyward demo listening on ${url}

Worker key (service-to-service):
  curl -i -X POST ${url}/worker/jobs -H "X-Worker-Key: ${process.env.WORKER_KEY}"   # 200
  curl -i -X POST ${url}/worker/jobs -H "X-Worker-Key: wrong"          # 401 invalid_credentials
  curl -i -X POST ${url}/worker/jobs                                     # 401 missing_credentials

Widget key (tenant "acme", PBKDF2 record in an in-memory store):
  curl -i ${url}/widget/config -H "X-Tenant-Id: acme" -H "X-Widget-Key: ${widget.key}"   # 200
  curl -i ${url}/widget/config -H "X-Tenant-Id: nobody" -H "X-Widget-Key: ${widget.key}"   # 401, event says unknown_tenant

Bearer token (checked by a local auth service at ${authService.url}):
  curl -i ${url}/items -H "Authorization: Bearer ${readToken}"              # 200
  curl -i -X DELETE ${url}/items/teapot -H "Authorization: Bearer ${readToken}"   # 403 insufficient_scope
  curl -i ${url}/items -H "Authorization: Bearer not-a-token"                # 401 invalid_token
`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close()
    void authService.close()
  })
}

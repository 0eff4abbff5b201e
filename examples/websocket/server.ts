/**
 * WebSocket upgrades authenticated by each guard: `npm run example:websocket`
 * (PORT=N to move it; WORKER_KEY to choose the worker key). See README.md for what to try.
 */
import {
  anyOf,
  createWidgetKey,
  delegateBearerAuth,
  fromEnv,
  httpValidator,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { memoryRecordStore, startAuthService } from '../../src/testing/index.js'
import { listenOrExit } from '../http.js'
import { socketServer } from './app.js'

process.env.WORKER_KEY ??= 'demo-worker-key-0123456789abcdef0123456789'
const auth = await startAuthService()
const widgetKey = await createWidgetKey({ iterations: 100_000 })
const store = memoryRecordStore({ initial: { acme: widgetKey.record } })

const worker = requireWorkerKey({ keys: fromEnv('WORKER_KEY') })
const bearer = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), realm: 'sockets' })
const widget = verifyWidgetKey({ records: store.records })
const internal = anyOf(worker, bearer)
await internal.ready()

const token = await auth.issue({ subject: 'ada', scopes: ['chat'] })
const port = Number(process.env.PORT ?? 3200)
const host = '127.0.0.1'
const server = await listenOrExit(
  socketServer({ worker, widget, bearer, internal }),
  port,
  host,
  'websocket example',
  'stop it, or set PORT to another port',
)
const base = `ws://${host}:${port}`
const client = 'npx tsx examples/websocket/client.ts'
console.log(`WebSocket echo on ${base} (local test credentials, for this process only)

  ${client} ${base}/ws/worker "X-Worker-Key: ${process.env.WORKER_KEY}"
  ${client} ${base}/ws/widget "X-Tenant-Id: acme" "X-Widget-Key: ${widgetKey.key}"
  ${client} ${base}/ws/user "Authorization: Bearer ${token}"
  ${client} ${base}/ws/internal "Authorization: Bearer ${token}"      # or the worker key
  ${client} ${base}/ws/user                                             # 401, WWW-Authenticate
  ${client} ${base}/ws/widget "X-Tenant-Id: acme" "X-Widget-Key: wrong" # 401
`)

const stop = () => {
  server.close()
  server.closeAllConnections()
  void auth.close()
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

/**
 * Widget keys end to end: `npx tsx examples/widget-runtime/server.ts`
 * Admin API on :3100 (X-Worker-Key: $ADMIN_KEY), runtime API on :3101, widget page on :3102;
 * PORT=N moves them to N, N+1 and N+2.
 */
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { listenOrExit } from '../http.js'
import { adminApp, runtimeApp, widgetPage } from './apps.js'

process.env.ADMIN_KEY ??= 'demo-admin-key-0123456789abcdef0123456789'
const store = memoryRecordStore()
const host = '127.0.0.1'
const base = Number(process.env.PORT ?? 3100)
const runtimeUrl = `http://${host}:${base + 1}`
const fix = 'stop it, or set PORT to move all three ports'

await listenOrExit(adminApp({ store }), base, host, 'widget admin API', fix)
await listenOrExit(runtimeApp({ store }).app, base + 1, host, 'widget runtime API', fix)
await listenOrExit(widgetPage(runtimeUrl), base + 2, host, 'widget page', fix)
console.log(`Widget keys demo
  admin API    http://${host}:${base}  (X-Worker-Key: ${process.env.ADMIN_KEY})
  runtime API  ${runtimeUrl}
  widget page  http://${host}:${base + 2}

1. Create a key for tenant "acme", allowed on the widget page's origin (prints the key once):
   curl -s -X POST http://${host}:${base}/tenants/acme/keys -H "X-Worker-Key: ${process.env.ADMIN_KEY}" \\
        -H "Content-Type: application/json" -d '{"origins":["http://${host}:${base + 2}"]}'
2. Use it:
   curl -i ${runtimeUrl}/widget/config -H "X-Tenant-Id: acme" -H "X-Widget-Key: <key>" -H "Origin: http://${host}:${base + 2}"
   or open http://${host}:${base + 2} and paste it.
3. Rotate with a 5-minute grace period (old and new keys both work until it ends):
   curl -s -X POST "http://${host}:${base}/tenants/acme/keys?graceSeconds=300" -H "X-Worker-Key: ${process.env.ADMIN_KEY}" \\
        -H "Content-Type: application/json" -d '{"origins":["http://${host}:${base + 2}"]}'
`)

/**
 * Widget keys end to end: `npx tsx examples/widget-runtime/server.ts`
 * Admin API on :3100 (X-Worker-Key: $ADMIN_KEY), runtime API on :3101, widget page on :3102.
 */
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { adminApp, runtimeApp, widgetPage } from './apps.js'

process.env.ADMIN_KEY ??= 'demo-admin-key-0123456789abcdef0123456789'
const store = memoryRecordStore()
const host = '127.0.0.1'
const runtimeUrl = `http://${host}:3101`

adminApp({ store }).listen(3100, host)
runtimeApp({ store }).app.listen(3101, host)
widgetPage(runtimeUrl).listen(3102, host, () => {
  console.log(`Widget keys demo
  admin API    http://${host}:3100  (X-Worker-Key: ${process.env.ADMIN_KEY})
  runtime API  ${runtimeUrl}
  widget page  http://${host}:3102

1. Create a key for tenant "acme", allowed on the widget page's origin (prints the key once):
   curl -s -X POST http://${host}:3100/tenants/acme/keys -H "X-Worker-Key: ${process.env.ADMIN_KEY}" \\
        -H "Content-Type: application/json" -d '{"origins":["http://${host}:3102"]}'
2. Use it:
   curl -i ${runtimeUrl}/widget/config -H "X-Tenant-Id: acme" -H "X-Widget-Key: <key>" -H "Origin: http://${host}:3102"
   or open http://${host}:3102 and paste it.
3. Rotate with a 5-minute grace period (old and new keys both work until it ends):
   curl -s -X POST "http://${host}:3100/tenants/acme/keys?graceSeconds=300" -H "X-Worker-Key: ${process.env.ADMIN_KEY}" \\
        -H "Content-Type: application/json" -d '{"origins":["http://${host}:3102"]}'
`)
})

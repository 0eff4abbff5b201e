// An API whose bearer tokens are checked by an auth service, here the testing kit's local one.
// Run: npx tsx examples/delegated-auth/server.ts   (set AUTH_SERVICE_URL to use your own service)
import express from 'express'
import { delegateBearerAuth, fingerprint, fromEnv, httpValidator, requireScopes } from '../../src/index.js'
import { startAuthService } from '../../src/testing/index.js'
import { jsonErrors, listenOrExit, notFound } from '../http.js'

const auth = await startAuthService()
// the guard reads AUTH_SERVICE_URL on every validation (F1); default it to the local service
process.env.AUTH_SERVICE_URL ??= auth.validateUrl

const bearer = delegateBearerAuth({
  validator: httpValidator({ url: fromEnv('AUTH_SERVICE_URL'), serviceId: 'items-api', timeout: 2000 }),
  realm: 'items',
  cacheTtl: 30_000,
  circuitBreaker: { threshold: 3, cooldown: 10_000 },
  onDecision: (event) =>
    console.log(
      `${event.outcome.padEnd(5)} ${event.status} ${event.reason.padEnd(22)} token=${event.keyFingerprint ?? '-'} cache=${event.cache ?? '-'}`,
    ),
})
// fail at start-up, not on the first request, if the auth service is not there
await bearer.ready()

const items = [{ id: 1, name: 'teapot' }]
const app = express()
app.use(express.json())
app.get('/items', bearer, requireScopes(['items:read'], { realm: 'items' }), (req, res) => {
  const auth = req.auth?.kind === 'bearer' ? req.auth : undefined
  res.json({ caller: auth?.subject, scopes: auth?.scopes, items })
})
app.post('/items', bearer, requireScopes(['items:write'], { realm: 'items' }), (req, res) => {
  const item = { id: items.length + 1, name: String(req.body?.name ?? 'unnamed') }
  items.push(item)
  res.status(201).json(item)
})

// demo controls: make the auth service fail, or revoke a token everywhere
app.post('/demo/fault/:mode', (req, res) => {
  const mode =
    req.params.mode === 'none'
      ? undefined
      : (req.params.mode as 'down' | 'slow' | 'error' | 'malformed' | 'reset')
  auth.fault(mode, { delay: 5000 })
  res.json({ fault: mode ?? 'none' })
})
app.post('/demo/revoke/:who', (req, res) => {
  const token = tokens[req.params.who as keyof typeof tokens]
  if (!token) {
    res.status(404).json({ error: 'unknown' })
    return
  }
  auth.revoke(token)
  bearer.invalidate(fingerprint(token))
  res.json({ revoked: fingerprint(token) })
})

const tokens = {
  reader: await auth.issue({ subject: 'reader', scopes: ['items:read'] }),
  writer: await auth.issue({ subject: 'writer', scopes: ['items:read', 'items:write'] }),
}
app.use(notFound)
app.use(jsonErrors('items API'))

const port = Number(process.env.PORT ?? 3000)
const server = await listenOrExit(app, port, '127.0.0.1', 'items API', 'stop it, or set PORT to another port')
const url = `http://127.0.0.1:${port}`
console.log(`items API on ${url}, auth service on ${auth.url}`)
console.log('Local test tokens (valid for an hour, only against this auth service):\n')
console.log(`  curl -i ${url}/items -H "Authorization: Bearer ${tokens.reader}"`)
console.log(
  `  curl -i -X POST ${url}/items -H "Authorization: Bearer ${tokens.reader}" -H "content-type: application/json" -d '{"name":"cup"}'   # 403`,
)
console.log(
  `  curl -i -X POST ${url}/items -H "Authorization: Bearer ${tokens.writer}" -H "content-type: application/json" -d '{"name":"cup"}'`,
)
console.log(`  curl -i ${url}/items                                              # 401`)
console.log(`  curl -i ${url}/items -H "Authorization: Basic abc"                # 400`)
console.log(`  curl -i -X POST ${url}/demo/fault/down   # then the first curl: 503 with Retry-After`)
console.log(`  curl -i -X POST ${url}/demo/fault/none`)
console.log(`  curl -i -X POST ${url}/demo/revoke/reader   # then the first curl: 401\n`)

const stop = () => {
  server.close()
  void auth.close()
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

/**
 * The keyward demo: one protected route per middleware, on this machine only.
 * Run with `npm run demo`, then try the curl lines it prints.
 */
import express from 'express'
import { fromEnv, requireWorkerKey } from '../../src/index.js'

const port = Number(process.env.PORT ?? 3000)

// The key is read from the environment when a request arrives (F1); the demo sets one if the
// shell did not, so it answers out of the box.
process.env.WORKER_KEY ??= 'demo-worker-key-0123456789abcdef0123456789'

const app = express()
const workerGuard = requireWorkerKey({
  keys: fromEnv('WORKER_KEY'),
  onDecision: (event) => console.log('decision', JSON.stringify(event)),
})
app.post('/worker/jobs', workerGuard, (req, res) => {
  res.json({ accepted: true, auth: req.auth })
})

await workerGuard.ready()
const server = app.listen(port, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${port}`
  console.log(`keyward demo listening on ${url}

Worker key (service-to-service):
  curl -i -X POST ${url}/worker/jobs -H "X-Worker-Key: ${process.env.WORKER_KEY}"   # 200
  curl -i -X POST ${url}/worker/jobs -H "X-Worker-Key: wrong"          # 401 invalid_credentials
  curl -i -X POST ${url}/worker/jobs                                     # 401 missing_credentials
`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close())

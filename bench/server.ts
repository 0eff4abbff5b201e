/**
 * One benchmark server, run as its own process (forked by `bench/run.ts`), so the load
 * generator never shares an event loop with the code it measures. It waits for its scenario
 * and the run's credentials over IPC, listens on 127.0.0.1 (a free port), and reports the port.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { servers } from './servers/index.js'
import type { Mounted } from './servers/types.js'
import type { OrchestratorMessage, ServerMessage } from './setup.js'

const send = (message: ServerMessage) => process.send?.(message)
let mounted: Mounted | undefined

process.on('message', async (message: OrchestratorMessage) => {
  if (message.type === 'stats') {
    send({ type: 'stats', stats: mounted?.stats?.() ?? {} })
    return
  }
  if (message.type === 'cpu') {
    // process-wide, so PBKDF2 still running on libuv's pool after a run counts as busy
    const { user, system } = process.cpuUsage()
    send({ type: 'cpu', micros: user + system })
    return
  }
  try {
    const load = servers[message.scenario]
    if (!load) throw new Error(`unknown scenario ${message.scenario}`)
    mounted = await (await load()).build(message.setup)
    const app = express()
    app.disable('x-powered-by')
    app.get('/', ...mounted.middlewares, (_req, res) => {
      res.json({ ok: true })
    })
    const server = app.listen(0, '127.0.0.1', () => {
      send({ type: 'listening', port: (server.address() as AddressInfo).port })
    })
    // autocannon keeps its connections open for the whole run
    server.keepAliveTimeout = 60_000
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) })
  }
})

// leave when the orchestrator goes, however it goes; exit() on SIGINT lets --cpu-prof write its profile
process.on('disconnect', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))

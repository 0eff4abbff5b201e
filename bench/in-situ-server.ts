/**
 * Every middleware in one Express server, each on its own path, each timed from the moment the
 * request enters it to the moment it calls `next()` (what it adds to a request, measured inside
 * the server with a ns clock). One process means one JIT and one memory layout for all rows, so
 * differences of a microsecond between middlewares show, which throughput on a shared 2-core
 * machine cannot resolve. Forked by `bench/run.ts`; timings are reported over IPC.
 */
import type { AddressInfo } from 'node:net'
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'
import express, { type RequestHandler } from 'express'
import { servers } from './servers/index.js'
import type { BenchSetup } from './setup.js'

export type InSituRequest =
  | { type: 'start'; scenarios: string[]; setup: BenchSetup }
  | { type: 'reset'; scenario: string }
  | { type: 'timing'; scenario: string }

export type InSituMessage =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'timing'; p50Us: number; meanUs: number; count: number }

const send = (message: InSituMessage) => process.send?.(message)
const histograms = new Map<string, RecordableHistogram>()

/** Runs a chain of middlewares as one, timing it up to the chain's final `next()`. */
function timedChain(middlewares: RequestHandler[], histogram: RecordableHistogram): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint()
    let index = 0
    const step = (error?: unknown) => {
      if (error !== undefined || index === middlewares.length) {
        histogram.record(Math.max(1, Number(process.hrtime.bigint() - started)))
        next(error as never)
        return
      }
      const middleware = middlewares[index++]!
      middleware(req, res, step)
    }
    step()
  }
}

async function start(scenarios: string[], setup: BenchSetup) {
  const app = express()
  app.disable('x-powered-by')
  for (const id of scenarios) {
    const { middlewares } = await (await servers[id]!()).build(setup)
    const histogram = createHistogram()
    histograms.set(id, histogram)
    app.get(`/${id}`, timedChain(middlewares, histogram), (_req, res) => {
      res.json({ ok: true })
    })
  }
  const server = app.listen(0, '127.0.0.1', () =>
    send({ type: 'listening', port: (server.address() as AddressInfo).port }),
  )
  server.keepAliveTimeout = 60_000
}

process.on('message', (message: InSituRequest) => {
  if (message.type === 'start') {
    start(message.scenarios, message.setup).catch((error: unknown) =>
      send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
    )
  } else if (message.type === 'reset') {
    histograms.get(message.scenario)?.reset()
  } else {
    const histogram = histograms.get(message.scenario)
    send({
      type: 'timing',
      p50Us: histogram && histogram.count > 0 ? histogram.percentile(50) / 1000 : Number.NaN,
      meanUs: histogram && histogram.count > 0 ? histogram.mean / 1000 : Number.NaN,
      count: histogram?.count ?? 0,
    })
  }
})
process.on('disconnect', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))

/**
 * The server of the hostile-load test, in its own process so that its event loop measures only
 * itself (the load generator runs in the test's process). It makes `keys` widget keys, gives
 * each of `tenants` tenants one of their records, verifies the first `warmTenants` once (their
 * keys are then cached), serves `verifyWidgetKey` on 127.0.0.1, and reports its event-loop
 * delay, the guard's counters and its heap when asked.
 *
 * With `control: true` it is the same Express server without keyward: the route answers every
 * request as a valid one would be. Flooded alongside, it measures what the machine does to any
 * event loop meanwhile, so that the guard is judged by what it adds.
 */

import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import express from 'express'
import { createWidgetKey, formatHashRecord, verifyWidgetKey } from '../../../src/index.js'
import { memoryRecordStore } from '../../../src/testing/memory-record-store.js'
import { fakeRequest, runGuard } from './fake-http.js'

export interface HostileServerConfig {
  iterations: number
  tenants: number
  keys: number
  warmTenants: number
  maxHashesInFlight: number
  /** Serve the route without any guard (the control). */
  control?: boolean
}

export type HostileServerMessage =
  | { type: 'ready'; port: number; keys: string[] }
  | {
      type: 'stats'
      eld: { p50: number; p99: number; max: number }
      /** Longest garbage-collection pause while the load ran, ms. */
      gcMaxMs: number
      guard: Record<string, number>
      heapBeforeMb: number
      heapAfterMb: number
      heapPeakMb: number
    }

const MB = 1024 * 1024
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const eld = monitorEventLoopDelay({ resolution: 10 })
let heapBefore = 0
let heapPeak = 0
let sampler: NodeJS.Timeout | undefined
let stats: (() => Record<string, number>) | undefined
let gcMax = 0
let measuring = false
new PerformanceObserver((list) => {
  if (measuring) for (const entry of list.getEntries()) gcMax = Math.max(gcMax, entry.duration)
}).observe({ entryTypes: ['gc'] })

function listen(app: express.Express, keys: string[]) {
  const server = app.listen(0, '127.0.0.1', () => {
    const message: HostileServerMessage = {
      type: 'ready',
      port: (server.address() as AddressInfo).port,
      keys,
    }
    process.send?.(message)
  })
}

async function start(config: HostileServerConfig) {
  if (config.control) {
    const app = express()
    app.get('/', (_req, res) => {
      res.json({ ok: true })
    })
    stats = () => ({})
    listen(app, [])
    return
  }
  const created = await Promise.all(
    Array.from({ length: config.keys }, () => createWidgetKey({ iterations: config.iterations })),
  )
  const records = created.map((c) => formatHashRecord(c.record, 'phc'))
  const initial: Record<string, string> = {}
  for (let i = 0; i < config.tenants; i++) initial[`t${i}`] = records[i % config.keys]!
  const store = memoryRecordStore({ initial })
  const guard = verifyWidgetKey({
    records: store.records,
    maxHashesInFlight: config.maxHashesInFlight,
    keyPrefix: 'wid_',
  })
  stats = () => guard.stats()
  // warm: these tenants' keys are verified once, as by the clients of a running service
  for (let i = 0; i < config.warmTenants; i += config.maxHashesInFlight) {
    const batch = Array.from(
      { length: Math.min(config.maxHashesInFlight, config.warmTenants - i) },
      (_, j) => i + j,
    )
    await Promise.all(
      batch.map((t) =>
        runGuard(
          guard,
          fakeRequest({ 'x-tenant-id': `t${t}`, 'x-widget-key': created[t % config.keys]!.key }),
        ),
      ),
    )
  }
  const app = express()
  app.get('/', guard, (_req, res) => {
    res.json({ ok: true })
  })
  listen(
    app,
    created.map((c) => c.key),
  )
}

process.on(
  'message',
  async (message: { type: 'start'; config: HostileServerConfig } | { type: 'begin' } | { type: 'stats' }) => {
    if (message.type === 'start') await start(message.config)
    if (message.type === 'begin') {
      gc()
      heapBefore = process.memoryUsage().heapUsed
      heapPeak = heapBefore
      // sampled without GC: a forced GC would itself stall the loop being measured
      sampler = setInterval(() => {
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
      }, 250)
      eld.reset()
      eld.enable()
      gcMax = 0
      measuring = true
    }
    if (message.type === 'stats') {
      eld.disable()
      measuring = false
      clearInterval(sampler)
      gc()
      const reply: HostileServerMessage = {
        type: 'stats',
        eld: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
        gcMaxMs: gcMax,
        guard: stats?.() ?? {},
        heapBeforeMb: heapBefore / MB,
        heapAfterMb: process.memoryUsage().heapUsed / MB,
        heapPeakMb: heapPeak / MB,
      }
      process.send?.(reply)
    }
  },
)
process.on('disconnect', () => process.exit(0))

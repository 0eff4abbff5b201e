/**
 * The server of the secret-leak test, in its own process so that its heap holds only what the
 * guards keep: it never receives a key or token except in requests. Expected worker keys come
 * from its environment (`fromEnv`), widget records (hashes only) over IPC, tokens are checked by
 * the test's auth service. Everything an operator would see — logger lines, decision events,
 * errors passed to an error handler and printed in full — goes to stdout, which the test scans.
 * On request it writes a heap snapshot (which collects garbage first) for the test to search.
 */

import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { writeHeapSnapshot } from 'node:v8'
import express, { type ErrorRequestHandler, type RequestHandler } from 'express'
import {
  type DecisionEvent,
  delegateBearerAuth,
  fromEnv,
  httpValidator,
  jwtValidator,
  KeywardError,
  type KeywardLogger,
  keywardErrorHandler,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../../src/index.js'

export interface SecretsServerConfig {
  /** Widget records (PHC text) by tenant. */
  records: Record<string, string>
  validateUrl: string
  issuer: string
  audience: string
  jwksUri: string
}

export type SecretsServerMessage = { type: 'ready'; port: number } | { type: 'snapshot'; file: string }

const print = (kind: string, value: unknown) =>
  process.stdout.write(`${kind} ${typeof value === 'string' ? value : JSON.stringify(value)}\n`)
const logger: KeywardLogger = { warn: (obj, msg) => print('log', `${JSON.stringify(obj)} ${msg ?? ''}`) }
const onDecision = (event: DecisionEvent) => print('event', event)
const observe = { logger, onDecision }

/** What an application's error handler commonly does: print the whole error, cause chain included. */
const printErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  print('error', `${inspect(err, { depth: 8 })}\n${(err as Error)?.stack ?? ''}`)
  if (KeywardError.is(err)) print('error-json', err)
  next(err)
}

function start(config: SecretsServerConfig) {
  const ok: RequestHandler = (_req, res) => {
    res.json({ ok: true })
  }
  const app = express()
  app.get('/worker', requireWorkerKey({ keys: fromEnv('WORKER_KEY', 'WORKER_KEY_PREVIOUS'), ...observe }), ok)
  app.get('/worker-next', requireWorkerKey({ keys: fromEnv('WORKER_KEY'), onError: 'next', ...observe }), ok)
  app.get('/worker-unset', requireWorkerKey({ keys: fromEnv('KEYWARD_SECRETS_TEST_UNSET'), ...observe }), ok)
  app.get(
    '/worker-resolver-throws',
    requireWorkerKey({
      keys: () => {
        throw new Error('secret store unreachable')
      },
      onError: 'next',
      ...observe,
    }),
    ok,
  )
  app.get(
    '/widget',
    verifyWidgetKey({
      records: async (tenant) => config.records[tenant] ?? null,
      keyPrefix: 'wid_',
      ...observe,
    }),
    ok,
  )
  app.get(
    '/widget-store-throws',
    verifyWidgetKey({
      records: async () => {
        throw new Error('connection refused')
      },
      onError: 'next',
      ...observe,
    }),
    ok,
  )
  app.get(
    '/bearer',
    delegateBearerAuth({
      validator: httpValidator({ url: config.validateUrl }),
      onError: 'next',
      ...observe,
    }),
    ok,
  )
  app.get(
    '/jwt',
    delegateBearerAuth({
      validator: jwtValidator({ issuer: config.issuer, audience: config.audience, jwksUri: config.jwksUri }),
      onError: 'next',
      ...observe,
    }),
    ok,
  )
  // a validator of the application's own whose errors quote the token: keyward must not pass it on
  app.get(
    '/bearer-careless-validator',
    delegateBearerAuth({
      validator: async (token) => {
        throw new Error(`upstream refused token ${token}`)
      },
      onError: 'next',
      circuitBreaker: false,
      ...observe,
    }),
    ok,
  )
  app.use(printErrors, keywardErrorHandler())
  const server = app.listen(0, '127.0.0.1', () => {
    const message: SecretsServerMessage = { type: 'ready', port: (server.address() as AddressInfo).port }
    process.send?.(message)
  })
}

process.on('message', (message: { type: 'start'; config: SecretsServerConfig } | { type: 'snapshot' }) => {
  if (message.type === 'start') start(message.config)
  if (message.type === 'snapshot') {
    const file = writeHeapSnapshot(join(tmpdir(), `keyward-secrets-${process.pid}.heapsnapshot`))
    const reply: SecretsServerMessage = { type: 'snapshot', file }
    process.send?.(reply)
  }
})
process.on('disconnect', () => process.exit(0))

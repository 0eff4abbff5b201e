import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { socketServer } from '../../examples/websocket/app.js'
import {
  anyOf,
  delegateBearerAuth,
  httpValidator,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { type AuthService, memoryRecordStore, startAuthService } from '../../src/testing/index.js'
import { secret } from '../helpers/secrets.js'
import { newKey } from '../security/widget-support.js'

const WORKER_KEY = secret('wk_socket_4f9c1e0b8a7d6c5b4a3f2e1d0c9b8a7f')

let auth: AuthService
let server: Server
let base: string
let widgetKey: string

beforeAll(async () => {
  auth = await startAuthService()
  const { key, record } = await newKey()
  widgetKey = key
  const worker = requireWorkerKey({ keys: WORKER_KEY })
  const bearer = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), realm: 'sockets' })
  const widget = verifyWidgetKey({
    records: memoryRecordStore({ initial: { acme: record } }).records,
    origins: ['https://shop.example'],
  })
  server = socketServer({ worker, widget, bearer, internal: anyOf(worker, bearer) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await auth.close()
})
afterEach(() => auth.fault(undefined))

type Outcome =
  | { accepted: true; greeting: Record<string, unknown>; echo: string }
  | { accepted: false; status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** Connects, sends one message and closes; or reports the refusal the server answered with. */
function connect(path: string, headers: Record<string, string> = {}, origin?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base}${path}`, { headers, ...(origin ? { origin } : {}) })
    const messages: string[] = []
    socket.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () =>
        resolve({ accepted: false, status: res.statusCode ?? 0, headers: res.headers, body }),
      )
    })
    socket.on('open', () => socket.send('ping'))
    socket.on('message', (data) => {
      messages.push(String(data))
      if (messages.length === 2) {
        socket.close()
        resolve({ accepted: true, greeting: JSON.parse(messages[0]!), echo: messages[1]! })
      }
    })
    socket.on('error', reject)
  })
}

describe('examples/websocket', () => {
  it('opens a socket for a valid worker key and echoes', async () => {
    expect(await connect('/ws/worker', { 'X-Worker-Key': WORKER_KEY })).toEqual({
      accepted: true,
      greeting: expect.objectContaining({ hello: 'worker' }),
      echo: 'ping',
    })
  })

  it('refuses an upgrade without a worker key with 401 before the handshake', async () => {
    expect(await connect('/ws/worker')).toMatchObject({ accepted: false, status: 401 })
  })

  it('opens a socket for a tenant and its widget key, and refuses a wrong key or origin', async () => {
    const widget = { 'X-Tenant-Id': 'acme', 'X-Widget-Key': widgetKey }
    expect(await connect('/ws/widget', widget, 'https://shop.example')).toMatchObject({
      accepted: true,
      greeting: { hello: 'widget' },
    })
    expect(await connect('/ws/widget', { ...widget, 'X-Widget-Key': 'wid_wrong' })).toMatchObject({
      accepted: false,
      status: 401,
    })
    const foreign = await connect('/ws/widget', widget, 'https://evil.example')
    expect(foreign).toMatchObject({ accepted: false, status: 403 })
    if (!foreign.accepted) expect(JSON.parse(foreign.body)).toEqual({ code: 'forbidden_origin' })
  })

  it('opens a socket for a bearer token and answers 401 with the challenge without one', async () => {
    const token = secret(await auth.issue({ subject: 'ada' }))
    expect(await connect('/ws/user', { Authorization: `Bearer ${token}` })).toMatchObject({
      accepted: true,
      greeting: { hello: 'bearer' },
    })
    const refused = await connect('/ws/user')
    expect(refused).toMatchObject({ accepted: false, status: 401 })
    if (!refused.accepted) expect(refused.headers['www-authenticate']).toBe('Bearer realm="sockets"')
  })

  it('answers 503 with Retry-After when the auth service is down', async () => {
    const token = secret(await auth.issue())
    auth.fault('down')
    const refused = await connect('/ws/user', { Authorization: `Bearer ${token}` })
    expect(refused).toMatchObject({ accepted: false, status: 503 })
    if (!refused.accepted) expect(refused.headers['retry-after']).toBeDefined()
  })

  it('takes either credential on the anyOf path', async () => {
    const token = secret(await auth.issue())
    expect(await connect('/ws/internal', { 'X-Worker-Key': WORKER_KEY })).toMatchObject({ accepted: true })
    expect(await connect('/ws/internal', { Authorization: `Bearer ${token}` })).toMatchObject({
      accepted: true,
    })
    expect(await connect('/ws/internal')).toMatchObject({ accepted: false, status: 401 })
  })
})

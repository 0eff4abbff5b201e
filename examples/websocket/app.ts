/**
 * WebSocket connections authenticated by keyward guards before the handshake: the `upgrade`
 * request goes through `guard.authenticate(req)`, and a refusal is answered on the raw socket
 * with the guard's status (401/403/500/503 and its headers), so no socket is ever opened for an
 * unauthenticated client.
 */
import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import type {
  AnyOfGuard,
  BearerAuth,
  Guard,
  KeywardAuth,
  KeywardError,
  WidgetAuth,
  WorkerAuth,
} from '../../src/index.js'

/** The guards the example's socket paths use. */
export interface SocketGuards {
  worker: Guard<WorkerAuth>
  widget: Guard<WidgetAuth>
  bearer: Guard<BearerAuth>
  internal: AnyOfGuard<WorkerAuth | BearerAuth>
}

type Authenticator = Pick<Guard<KeywardAuth>, 'authenticate'>

/** One path per guard; `/ws/internal` takes a worker key or a bearer token (`anyOf`). */
export function socketServer(guards: SocketGuards): Server {
  const routes = new Map<string, Authenticator>([
    ['/ws/worker', guards.worker],
    ['/ws/widget', guards.widget],
    ['/ws/user', guards.bearer],
    ['/ws/internal', guards.internal],
  ])
  const sockets = new WebSocketServer({ noServer: true })

  const server = createServer((_req, res) => {
    res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain' })
    res.end('Connect with a WebSocket client to /ws/worker, /ws/widget, /ws/user or /ws/internal.\n')
  })
  server.on('upgrade', async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // a client that hangs up while its credential is checked must not crash the server
    socket.on('error', () => socket.destroy())
    const guard = routes.get(new URL(req.url ?? '/', 'http://localhost').pathname)
    if (guard === undefined) {
      answer(socket, 404, { code: 'not_found' })
      return
    }
    const result = await guard.authenticate(req)
    if (socket.destroyed) return
    if (!result.ok) {
      refuse(socket, result.error)
      return
    }
    sockets.handleUpgrade(req, socket, head, (ws) => echo(ws, result.auth))
  })
  server.on('close', () => sockets.close())
  return server
}

/** Greets the caller with who it is (`keyId` is an id or a fingerprint, never the secret), then echoes. */
function echo(socket: WebSocket, auth: KeywardAuth): void {
  socket.send(JSON.stringify({ hello: auth.kind, keyId: auth.keyId }))
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
}

/** The refusal as an HTTP answer on the raw socket: the status, the guard's headers, the code. */
function refuse(socket: Duplex, error: KeywardError): void {
  answer(socket, error.status, { code: error.code }, error.headers)
}

function answer(socket: Duplex, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}`,
    'Connection: close',
    'Cache-Control: no-store',
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ]
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`)
}

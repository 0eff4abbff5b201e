import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Guard } from '../../../src/index.js'

/** What a guard did with one request. */
export interface GuardOutcome {
  /** `'next'`: passed the request on (allowed, or `next(err)` with `onError: 'next'`); `'answered'`: it responded. */
  outcome: 'next' | 'answered'
  status: number
  body: string
  headers: Record<string, string>
  /** The error given to `next(err)`, if any. */
  error?: unknown
}

/**
 * A request object with what guards read — `headersDistinct`, `headers`, `method`, `socket` —
 * and nothing else, so millions of decisions can be driven in-process, without HTTP.
 */
export function fakeRequest(
  headers: Record<string, string | string[] | undefined>,
  method = 'GET',
): IncomingMessage {
  const distinct: Record<string, string[]> = {}
  const plain: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const lower = name.toLowerCase()
    distinct[lower] = Array.isArray(value) ? [...value] : [value]
    plain[lower] = Array.isArray(value) ? value.join(', ') : value
  }
  const socket = new EventEmitter() as EventEmitter & { remoteAddress: string }
  socket.remoteAddress = '127.0.0.1'
  return {
    method,
    url: '/',
    headersDistinct: distinct,
    headers: plain,
    socket,
    ip: '127.0.0.1',
  } as unknown as IncomingMessage
}

/** Runs a guard on a fake request with a fake response; resolves when it passes on or answers. */
export function runGuard(guard: Guard, req: IncomingMessage): Promise<GuardOutcome> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {}
    const res = {
      headersSent: false,
      statusCode: 200,
      setHeader(name: string, value: string | number) {
        headers[name.toLowerCase()] = String(value)
      },
      end(body?: string) {
        resolve({ outcome: 'answered', status: res.statusCode, body: body ?? '', headers })
      },
      destroy() {
        resolve({ outcome: 'answered', status: 0, body: '', headers })
      },
    }
    guard(req as never, res as unknown as ServerResponse, (error?: unknown) =>
      resolve({ outcome: 'next', status: 200, body: '', headers, ...(error === undefined ? {} : { error }) }),
    )
  })
}

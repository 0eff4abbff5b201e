import { request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createWidgetKey, formatHashRecord } from '../../src/index.js'
import { secret } from '../helpers/secrets.js'

/** A generated widget key (registered as a secret) and its record in PHC form. */
export async function newKey(options: { prefix?: string; iterations?: number } = {}) {
  const { key, record } = await createWidgetKey({
    prefix: options.prefix ?? 'wid_',
    iterations: options.iterations ?? 1_000,
  })
  return { key: secret(key), record: formatHashRecord(record, 'phc') }
}

/** Starts an Express app on 127.0.0.1, so many requests share one real server. */
export function listen(app: {
  listen: (port: number, host: string, cb: () => void) => Server
}): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      })
    })
  })
}

/**
 * Sends a request whose body is chunked (Transfer-Encoding, no Content-Length), which supertest
 * does not do; resolves with the status and body text.
 */
export function sendChunked(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Node sends no body framing for OPTIONS unless asked, so ask for chunks explicitly
    const req = httpRequest(
      url,
      { method, headers: { ...headers, 'Transfer-Encoding': 'chunked' } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.write(body)
    req.end()
  })
}

/** Resolves once `condition` holds, checking after each turn of the event loop (no timers). */
export async function until(condition: () => boolean, turns = 1_000_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error('condition never held')
}

import diagnostics from 'node:diagnostics_channel'
import { ServerResponse } from 'node:http'
import { inspect } from 'node:util'
import { afterEach, expect } from 'vitest'
import { findSecret } from '../helpers/secrets.js'

// Suite-wide check (F6): no registered secret may appear in any response, decision event or
// log line. Tests register their keys and tokens with `secret()`.
const leaks: string[] = []

function scan(where: string, value: unknown): void {
  if (value === undefined || value === null) return
  const text =
    typeof value === 'string'
      ? value
      : Buffer.isBuffer(value)
        ? value.toString('latin1')
        : JSON.stringify(value)
  if (text === undefined) return
  const found = findSecret(text)
  if (found) leaks.push(`${where} contains a raw secret (length ${found.length})`)
}

diagnostics.subscribe('keyward:decision', (event) => scan('a decision event', event))

const originalWrite = ServerResponse.prototype.write
const originalEnd = ServerResponse.prototype.end
ServerResponse.prototype.write = function write(this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
  scan('a response body', chunk)
  return (originalWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
} as typeof ServerResponse.prototype.write
ServerResponse.prototype.end = function end(this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
  if (!this.headersSent) scan('response headers', this.getHeaders())
  if (typeof chunk !== 'function') scan('a response body', chunk)
  return (originalEnd as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest)
} as typeof ServerResponse.prototype.end

for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[level]
  console[level] = (...args: unknown[]) => {
    // as console prints it: an error's message, stack and cause chain
    for (const arg of args) scan(`console.${level}`, arg instanceof Error ? inspect(arg, { depth: 8 }) : arg)
    original(...args)
  }
}

afterEach(() => {
  const found = leaks.splice(0)
  expect(found, 'a raw secret leaked').toEqual([])
})

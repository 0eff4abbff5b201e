import type { ServerResponse } from 'node:http'
import type { RequestFacts } from '../core/request.js'

/** What a preflight answer allows; the routes behind the guard decide what they serve. */
export const PREFLIGHT_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE'

/**
 * A CORS preflight as browsers send it: the only request that may go without a key. Anything
 * else sent with `OPTIONS` (a body, no `Origin`, no requested method) is an ordinary request.
 */
export function isRealPreflight(input: RequestFacts): boolean {
  if (input.method !== 'OPTIONS') return false
  if (!singleHeader(input.header('origin'))) return false
  if (!singleHeader(input.header('access-control-request-method'))) return false
  if (input.header('transfer-encoding') !== undefined) return false
  const length = input.header('content-length')
  return length === undefined || length === '0'
}

export function appendVary(res: ServerResponse, field: string): void {
  const current = res.getHeader('Vary')
  if (current === undefined) res.setHeader('Vary', field)
  else if (
    !String(current)
      .toLowerCase()
      .split(/\s*,\s*/)
      .includes(field.toLowerCase())
  ) {
    res.setHeader('Vary', `${String(current)}, ${field}`)
  }
}

export function singleHeader(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  return value.length === 1 ? value[0] : undefined
}

import type { IncomingMessage } from 'node:http'
import type { HeaderValue } from './credentials.js'

/**
 * A request described as plain data, for `authenticate()` outside Node's HTTP server (another
 * framework, a test). Header names are matched case-insensitively; a header given as an array
 * of several values is a repeated header, refused like one.
 */
export interface PlainRequest {
  method: string
  headers: Readonly<Record<string, string | readonly string[] | undefined>>
  url?: string
  /** The client's address: what `httpValidator` sends as `client_ip` by default. */
  ip?: string
}

/** What a guard can decide on: Node's request (Express's included, or an `upgrade` request) or a {@link PlainRequest}. */
export type KeywardRequest = IncomingMessage | PlainRequest

/**
 * The plain inputs a decision reads, so that no decision depends on a framework: the method, a
 * header lookup and the client address. `req` is the original request, handed only to the
 * user's own callbacks (`tenant`, `clientIp`, a validator), which were written for it.
 */
export interface RequestFacts {
  readonly method: string
  /** The header as sent, repeated headers as an array; `name` must be lower-case. */
  header(name: string): HeaderValue
  /** Express's `req.ip` (which honours `trust proxy`), else the socket's remote address, else a plain request's `ip`. */
  readonly ip: string | undefined
  readonly req: KeywardRequest
}

/**
 * The client address of a request: `req.ip` when it is a string (Express sets it, honouring
 * `trust proxy`; a {@link PlainRequest} carries it), else the socket's remote address.
 */
export function clientAddress(req: KeywardRequest): string | undefined {
  const ip = (req as { ip?: unknown }).ip
  if (typeof ip === 'string') return ip
  return (req as { socket?: { remoteAddress?: string } }).socket?.remoteAddress
}

class NodeRequestFacts implements RequestFacts {
  constructor(readonly req: IncomingMessage) {}
  get method(): string {
    return this.req.method ?? ''
  }
  header(name: string): HeaderValue {
    return rawHeader(this.req.rawHeaders, name)
  }
  get ip(): string | undefined {
    return clientAddress(this.req)
  }
}

class PlainRequestFacts implements RequestFacts {
  constructor(readonly req: PlainRequest) {}
  get method(): string {
    return typeof this.req.method === 'string' ? this.req.method : ''
  }
  header(name: string): HeaderValue {
    return plainHeader(this.req.headers, name)
  }
  get ip(): string | undefined {
    return clientAddress(this.req)
  }
}

/** The facts of a request; Node's requests are read from their raw header list. */
export function requestFacts(req: KeywardRequest): RequestFacts {
  if (Array.isArray((req as IncomingMessage).rawHeaders)) return new NodeRequestFacts(req as IncomingMessage)
  return new PlainRequestFacts(req as PlainRequest)
}

/**
 * A header from Node's raw list, repeated headers included: Node folds duplicates of some
 * headers into one string and drops duplicates of others (Authorization), so `req.headers`
 * would hide a repeated credential. A scan of the raw list is cheaper than `headersDistinct`,
 * which builds a map of every header.
 */
export function rawHeader(raw: readonly string[], name: string): HeaderValue {
  let first: string | undefined
  let all: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i]!
    // most clients send names in lower case already: compare before making a lower-case copy
    if (field !== name && (field.length !== name.length || field.toLowerCase() !== name)) continue
    const value = raw[i + 1]!
    if (first === undefined) first = value
    else if (all === undefined) all = [first, value]
    else all.push(value)
  }
  return all ?? first
}

/**
 * A header from a plain record, by any case of its name. Two spellings of one name
 * (`Authorization` and `authorization`) are one header sent twice, so their values are all
 * returned and refused as repeated; an empty array is no header.
 */
function plainHeader(headers: PlainRequest['headers'] | undefined, name: string): HeaderValue {
  if (typeof headers !== 'object' || headers === null) return undefined
  let found: HeaderValue
  let all: unknown[] | undefined
  for (const field of Object.keys(headers)) {
    if (field.length !== name.length || field.toLowerCase() !== name) continue
    const value = headers[field]
    if (value === undefined) continue
    if (found === undefined && all === undefined) {
      found = value
      continue
    }
    all ??= Array.isArray(found) ? [...found] : [found]
    if (Array.isArray(value)) all.push(...value)
    else all.push(value)
  }
  // values of other types reach the credential reader as they are, and it refuses them
  const result = (all ?? found) as HeaderValue
  return Array.isArray(result) && result.length === 0 ? undefined : result
}

import type { ServerResponse } from 'node:http'
import { type KeywardError, titleFor } from '../core/errors.js'

/** The body of a problem answer (RFC 9457). Client-safe: the code, never the reason. */
export interface ProblemBody {
  type: string
  title: string
  status: number
  code: string
  detail: string
}

const DETAILS: Record<string, string> = {
  missing_credentials: 'Send the credential in the documented header.',
  invalid_request:
    'The credential header is repeated, too long, or contains characters a credential never has.',
  invalid_credentials: 'The credential was not accepted.',
  invalid_token: 'The access token was not accepted.',
  forbidden_origin: 'Requests from this origin may not use this key.',
  insufficient_scope: 'The access token does not carry the scope this resource requires.',
  server_misconfigured: 'The server cannot check credentials; its operator has been told why.',
  auth_unavailable: 'Credentials cannot be checked right now; retry later.',
}

export function problemBody(error: KeywardError): ProblemBody {
  return {
    type: `urn:keyward:error:${error.code}`,
    title: titleFor(error.code),
    status: error.status,
    code: error.code,
    detail: DETAILS[error.code] ?? titleFor(error.code),
  }
}

/** Writes a KeywardError as `application/problem+json`, with its headers, uncached. */
export function sendProblem(res: ServerResponse, error: KeywardError): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify(problemBody(error))
  res.statusCode = error.status
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value)
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}

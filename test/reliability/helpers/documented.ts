import { readFileSync } from 'node:fs'

/**
 * What SPEC's response table documents: every status a guard may answer with and the codes
 * that go with it (bearer answers a malformed header with 400).
 */
export const DOCUMENTED_ANSWERS: ReadonlyArray<{ status: number; code: string }> = [
  { status: 401, code: 'missing_credentials' },
  { status: 400, code: 'invalid_request' },
  { status: 401, code: 'invalid_request' },
  { status: 401, code: 'invalid_credentials' },
  { status: 401, code: 'invalid_token' },
  { status: 403, code: 'forbidden_origin' },
  { status: 403, code: 'insufficient_scope' },
  { status: 500, code: 'server_misconfigured' },
  { status: 503, code: 'auth_unavailable' },
]

export function isDocumentedAnswer(status: number, code: unknown): boolean {
  return DOCUMENTED_ANSWERS.some((answer) => answer.status === status && answer.code === code)
}

const troubleshooting = readFileSync(new URL('../../../docs/troubleshooting.md', import.meta.url), 'utf8')

/** Whether an operator-facing reason is explained in docs/troubleshooting.md. */
export function isDocumentedReason(reason: string): boolean {
  return troubleshooting.includes(`\`${reason}\``)
}

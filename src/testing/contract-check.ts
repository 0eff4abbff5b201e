import { Client } from 'undici'
import { isObject, parseJson } from '../bearer/validators/answer-fields.js'
import { interpretContractAnswer } from '../bearer/validators/http.js'
import { safeUrl } from '../bearer/validators/service-url.js'
import { foreignErrorName as errorName } from '../core/foreign-error.js'

/** The points of the `httpValidator` contract a live service is checked against. */
export type ContractPoint =
  | 'reachable'
  | 'valid_token_accepted'
  | 'json_answer'
  | 'active_flag'
  | 'invalid_token_refused'
  | 'missing_token_refused'
  | 'token_read_from_header'

/** One contract point and whether the service met it. */
export interface ContractCheck {
  /** Which point. */
  point: ContractPoint
  /** Whether the service meets it. */
  ok: boolean
  /** What the point requires. */
  requirement: string
  /** What was observed, and for a failure, what to change. Never contains a token. */
  detail: string
}

/** What `checkAuthServiceContract` found. */
export interface ContractReport {
  /** The checked URL (origin and path only). */
  url: string
  /** True when every point is met. */
  ok: boolean
  /** The most likely cause when points fail for one known reason (no answer, token read from the body). */
  diagnosis?: string
  /** Every point, in a fixed order. */
  checks: ContractCheck[]
}

export interface ContractCheckOptions {
  /** A token the service should accept. */
  validToken: string
  /** A token the service should refuse. */
  invalidToken: string
  /** Sent as `service_id`. Default `'keyward-check-service'`. */
  serviceId?: string
  /** Longest wait for each answer, ms. Default 5000. */
  timeout?: number
}

interface Probe {
  status?: number
  contentType?: string
  body?: unknown
  error?: string
  verdict: 'active' | 'inactive' | 'cannot decide' | 'no answer'
}

/** Body members a service that expects the token in the body (F4) most likely reads. */
const BODY_TOKEN_FIELDS = ['token', 'access_token', 'api_key', 'apiKey', 'key']

/**
 * Checks a live auth service against the contract `httpValidator` relies on: the valid token,
 * sent as `Authorization: Bearer`, is accepted with a JSON `{ "valid" | "active": true }`; the
 * invalid one and a missing one are refused (401/403 or `false`). When the service refuses the
 * token in the header but accepts it in the JSON body, the report names that (F4). Tokens are
 * never part of the report.
 */
export async function checkAuthServiceContract(
  url: string | URL,
  options: ContractCheckOptions,
): Promise<ContractReport> {
  let target: URL
  try {
    target = new URL(String(url))
  } catch {
    throw new TypeError('checkAuthServiceContract: "url" must be an absolute http(s) URL')
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError('checkAuthServiceContract: "url" must be an http(s) URL')
  }
  for (const name of ['validToken', 'invalidToken'] as const) {
    if (typeof options?.[name] !== 'string' || options[name] === '') {
      throw new TypeError(`checkAuthServiceContract: "${name}" must be a non-empty string`)
    }
  }
  if (options.validToken === options.invalidToken) {
    throw new TypeError('checkAuthServiceContract: "validToken" and "invalidToken" must differ')
  }
  const timeout = options.timeout ?? 5000
  const serviceId = options.serviceId ?? 'keyward-check-service'
  const client = new Client(target.origin, {
    connectTimeout: timeout,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  })
  const contract = { service_id: serviceId, client_ip: '127.0.0.1' }

  const probe = async (headers: Record<string, string>, body: Record<string, unknown>): Promise<Probe> => {
    try {
      const response = await client.request({
        method: 'POST',
        path: `${target.pathname}${target.search}`,
        headers: { accept: 'application/json', 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeout),
      })
      const text = await response.body.text()
      const parsed = parseJson(text)
      const contentType = String(response.headers['content-type'] ?? '')
      let verdict: Probe['verdict']
      try {
        verdict = interpretContractAnswer({
          status: response.statusCode,
          headers: response.headers,
          body: parsed,
          text,
        }).active
          ? 'active'
          : 'inactive'
      } catch {
        verdict = 'cannot decide'
      }
      return { status: response.statusCode, contentType, body: parsed, verdict }
    } catch (error) {
      return { error: errorName(error), verdict: 'no answer' }
    }
  }

  try {
    const inHeader = await probe({ authorization: `Bearer ${options.validToken}` }, contract)
    const invalid = await probe({ authorization: `Bearer ${options.invalidToken}` }, contract)
    const missing = await probe({}, contract)
    // the F4 probe: the same valid token in the body only, under the names such services use
    const inBody = await probe(
      {},
      { ...contract, ...Object.fromEntries(BODY_TOKEN_FIELDS.map((field) => [field, options.validToken])) },
    )
    const checks = judge(inHeader, invalid, missing, inBody)
    const report: ContractReport = { url: safeUrl(target), ok: checks.every((check) => check.ok), checks }
    if (inHeader.status === undefined)
      report.diagnosis = `the service did not answer (${inHeader.error}); is the URL right and the service up?`
    else if (inHeader.verdict !== 'active' && inBody.verdict === 'active') {
      report.diagnosis =
        'the service expects the token in the JSON body, but httpValidator sends it in Authorization: Bearer (F4)'
    }
    return report
  } finally {
    await client.close()
  }
}

function judge(inHeader: Probe, invalid: Probe, missing: Probe, inBody: Probe): ContractCheck[] {
  const checks: ContractCheck[] = []
  const add = (point: ContractPoint, ok: boolean, requirement: string, detail: string) =>
    checks.push({ point, ok, requirement, detail })
  const seen = (probe: Probe) =>
    probe.status === undefined
      ? `no answer (${probe.error})`
      : `${probe.status}${probe.contentType ? ` ${probe.contentType.split(';')[0]}` : ''}`
  const f4 = inHeader.verdict !== 'active' && inBody.verdict === 'active'

  add(
    'reachable',
    inHeader.status !== undefined,
    'the service answers HTTP at this URL',
    inHeader.status === undefined ? `no answer: ${inHeader.error}` : `answered ${inHeader.status}`,
  )
  const accepted = inHeader.status !== undefined && inHeader.status >= 200 && inHeader.status < 300
  add(
    'valid_token_accepted',
    accepted,
    'POST with Authorization: Bearer <valid token> is answered 2xx',
    accepted
      ? `answered ${seen(inHeader)}`
      : f4
        ? `answered ${seen(inHeader)} with the token in the Authorization header, but accepted it when it was in the JSON body — see token_read_from_header`
        : `answered ${seen(inHeader)}; is the valid token really valid for this service?`,
  )
  const json = isObject(inHeader.body) && /json/i.test(inHeader.contentType ?? '')
  add(
    'json_answer',
    json,
    'the answer is a JSON object with a JSON content type',
    json
      ? 'yes'
      : inHeader.status === undefined
        ? 'no answer'
        : `answered ${seen(inHeader)}${isObject(inHeader.body) ? '' : ', not a JSON object'}`,
  )
  const flag = isObject(inHeader.body) ? (inHeader.body.active ?? inHeader.body.valid) : undefined
  add(
    'active_flag',
    inHeader.verdict === 'active',
    'the answer for the valid token carries "valid": true or "active": true',
    inHeader.verdict === 'active'
      ? 'keyward would accept the token'
      : flag === undefined
        ? `neither "valid" nor "active" in the answer; keyward would decide: ${inHeader.verdict} (use mapResponse for another shape)`
        : `"${isObject(inHeader.body) && 'active' in inHeader.body ? 'active' : 'valid'}" is ${JSON.stringify(flag)}; keyward would decide: ${inHeader.verdict}`,
  )
  add(
    'invalid_token_refused',
    invalid.verdict === 'inactive',
    'the invalid token is refused with 401/403, or "valid"/"active": false',
    invalid.verdict === 'inactive'
      ? `answered ${seen(invalid)}`
      : invalid.verdict === 'active'
        ? `answered ${seen(invalid)} and accepted it: the service accepts tokens it should refuse`
        : `answered ${seen(invalid)}; keyward would answer 503 for every bad token instead of 401`,
  )
  add(
    'missing_token_refused',
    missing.verdict === 'inactive',
    'a request without Authorization is refused with 401/403, or "valid"/"active": false',
    missing.verdict === 'inactive'
      ? `answered ${seen(missing)}`
      : missing.verdict === 'active'
        ? `answered ${seen(missing)} and accepted a request with no token at all`
        : `answered ${seen(missing)}`,
  )
  add(
    'token_read_from_header',
    inHeader.verdict === 'active',
    'the service reads the token from Authorization: Bearer, where httpValidator sends it',
    f4
      ? 'the service expects the token in the JSON body: it refused the valid token in the Authorization header and accepted it in the body (F4). keyward never sends a token in a body; change the service to read Authorization: Bearer (RFC 6750 §2.1)'
      : inHeader.verdict === 'active'
        ? inBody.verdict === 'active'
          ? 'yes (it also accepts a token in the body, which clients should not send)'
          : 'yes'
        : 'not shown: the valid token was accepted neither in the header nor in the body',
  )
  return checks
}

/** The report as text, one line per point: `✓ point — detail`. Never contains a token. */
export function formatContractReport(report: ContractReport): string {
  const lines = [`Contract check of ${report.url}`]
  if (report.diagnosis !== undefined) lines.push(`Diagnosis: ${report.diagnosis}`)
  for (const check of report.checks) {
    lines.push(`${check.ok ? '✓' : '✗'} ${check.point}: ${check.requirement}`)
    lines.push(`    ${check.detail}`)
  }
  const failed = report.checks.filter((check) => !check.ok).length
  lines.push(
    failed === 0
      ? `All ${report.checks.length} contract points met.`
      : `${failed} of ${report.checks.length} contract points not met.`,
  )
  return `${lines.join('\n')}\n`
}

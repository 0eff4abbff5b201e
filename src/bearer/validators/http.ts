import { KeywardError } from '../../core/errors.js'
import { optionNames, refuseUnknownOptions } from '../../core/options.js'
import { clientAddress, type KeywardRequest } from '../../core/request.js'
import { readSetting, settingOption } from '../../core/settings.js'
import type { KeyResolver } from '../../worker-key/key-resolver.js'
import { dateFrom, epochSeconds, isObject, parseJson, strictScopes } from './answer-fields.js'
import { type TransportOptions, transport } from './http-client.js'
import { statusFailure, unavailable } from './http-failures.js'
import { ownValidator } from './own-validator.js'
import { readinessFloor } from './readiness-floor.js'
import { safeUrl, serviceUrl } from './service-url.js'
import type { TokenResult, TokenValidator } from './types.js'

const NAME = 'httpValidator'

/** The auth service's answer, as given to `mapResponse`. */
export interface HttpValidatorResponse {
  /** HTTP status. */
  status: number
  /** Response headers, lower-cased. */
  headers: Record<string, string | string[] | undefined>
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown
  /** The body as text. */
  text: string
}

export interface HttpValidatorOptions extends TransportOptions {
  /**
   * The auth service's validation endpoint, e.g. `https://auth.internal/validate`, or a resolver
   * such as `fromEnv('AUTH_SERVICE_URL')` read at every validation (F1). There is no default:
   * unset means 500 `server_misconfigured` and `ready()` rejects, naming the variable.
   */
  url: string | URL | KeyResolver
  /** Sent as `service_id` in the JSON body, so the service knows which API is asking. */
  serviceId?: string
  /**
   * Extra request headers, e.g. a key that authenticates this API to the auth service. Not
   * `Authorization`: that header carries the token being checked.
   */
  headers?: Record<string, string>
  /**
   * The client address sent as `client_ip`. Default: Express's `req.ip` (which honours
   * `trust proxy`), else the socket's remote address; for a plain request given to
   * `authenticate()`, its `ip`. Part of the guard's cache key (see
   * `cacheKey` of {@link TokenValidator}), so a service that accepts a token only from some
   * addresses is asked again for every other address.
   */
  clientIp?: (req: KeywardRequest) => string | undefined
  /**
   * Turns the service's answer into a verdict, for services that answer in another shape.
   * Return `{ active: false }` for "no"; throw for "cannot decide" (503). The default accepts
   * 2xx with `{ "valid" | "active": true }`, treats 401/403 and `false` as "no", and anything
   * else as "cannot decide". A KeywardError it throws keeps its code, reason and headers but not
   * its message (which may quote the answer).
   */
  mapResponse?: (response: HttpValidatorResponse) => TokenResult | Promise<TokenResult>
}

const OPTION_NAMES = optionNames<HttpValidatorOptions>()(
  'url',
  'serviceId',
  'headers',
  'clientIp',
  'mapResponse',
  'timeout',
  'connectTimeout',
  'connections',
  'keepAliveTimeout',
)

/**
 * Validates tokens with your auth service: `POST url` with `Authorization: Bearer <token>` and a
 * JSON body `{ "service_id", "client_ip" }` — the token is never put in the body (F4). A 2xx
 * answer with `{ "valid": true }` or `{ "active": true }` (plus optional `sub`, `scope`, `exp`)
 * accepts the token; 401/403 or `false` refuse it; anything else, a timeout or a refused
 * connection means "cannot decide" (503). `keyward check-service` checks a live service against
 * this contract.
 */
export function httpValidator(options: HttpValidatorOptions): TokenValidator & { close(): Promise<void> } {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${NAME}: pass an options object such as { url: fromEnv('AUTH_SERVICE_URL') }`)
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const readUrl = settingOption(options.url, 'url', NAME)
  if (typeof options.url !== 'function') serviceUrl(String(options.url), options.url, 'url', NAME)
  if (
    options.serviceId !== undefined &&
    (typeof options.serviceId !== 'string' || options.serviceId === '')
  ) {
    throw new TypeError(`${NAME}: "serviceId" must be a non-empty string`)
  }
  const extraHeaders = headersOption(options.headers)
  if (options.mapResponse !== undefined && typeof options.mapResponse !== 'function') {
    throw new TypeError(`${NAME}: "mapResponse" must be a function (response) => TokenResult`)
  }
  if (options.clientIp !== undefined && typeof options.clientIp !== 'function') {
    throw new TypeError(`${NAME}: "clientIp" must be a function (req) => string | undefined`)
  }
  const clientIp = options.clientIp ?? clientAddress
  const mapResponse = options.mapResponse ?? interpretContractAnswer
  const ownReading = options.mapResponse === undefined
  const http = transport(options, NAME)

  const resolveUrl = async () =>
    serviceUrl(await readSetting(readUrl, options.url, 'url', NAME), options.url, 'url', NAME)

  const validate = async (token: string, context: { req: KeywardRequest; signal: AbortSignal }) => {
    const url = await resolveUrl()
    const response = await http.request(url, {
      method: 'POST',
      headers: {
        ...extraHeaders,
        accept: 'application/json',
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ service_id: options.serviceId, client_ip: clientIp(context.req) }),
      signal: context.signal,
    })
    try {
      return await mapResponse({ ...response, body: parseJson(response.text) })
    } catch (error) {
      if (KeywardError.is(error)) {
        // the default reading's messages are ours; a custom mapResponse's may quote the answer
        const detail = ownReading ? error.message : `mapResponse threw ${error.code} (${error.reason})`
        throw new KeywardError({
          code: error.code,
          reason: error.reason,
          headers: { ...error.headers },
          message: `${NAME}: ${safeUrl(url)} ${detail}`,
        })
      }
      throw unavailable(
        'validator_bad_response',
        `${NAME}: mapResponse threw for an answer of ${safeUrl(url)}`,
        error,
      )
    }
  }

  const floor = readinessFloor()
  const probe = async () => {
    const url = await resolveUrl()
    await floor(url.href, () => probeAt(url))
  }
  const probeAt = async (url: URL) => {
    // any answer short of a server error proves the service is there; no token is sent
    const response = await http.request(url, {
      method: 'POST',
      headers: { ...extraHeaders, accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ service_id: options.serviceId }),
      signal: AbortSignal.timeout(options.timeout ?? 5000),
    })
    if (response.status >= 500) {
      throw unavailable(
        'validator_failed',
        `${NAME}: ${safeUrl(url)} answered ${response.status} to a readiness probe`,
      )
    }
  }

  ownValidator(validate)
  return Object.assign(validate, {
    ready: probe,
    cacheKey: (req: KeywardRequest) => clientIp(req) ?? '',
    close: () => http.close(),
  })
}

/**
 * The default reading of an answer under the `httpValidator` contract (also what
 * `checkAuthServiceContract` reports keyward would decide). Strict, because a lenient reading
 * of a "yes" is an authentication decision: `active` and `valid` must each be absent or a
 * boolean and agree when both are there; `exp` must be seconds (a number or a string of
 * digits); `scope`/`scopes` must be a string or an array of strings. Anything else is an answer
 * keyward cannot read: 503 `validator_bad_response`, never a guess.
 */
export function interpretContractAnswer(response: HttpValidatorResponse): TokenResult {
  const { status, body } = response
  if (status === 401 || status === 403) return { active: false, reason: 'token_inactive' }
  if (status < 200 || status >= 300) throw statusFailure(status, response.headers, '')
  const unreadable = (what: string) => unavailable('validator_bad_response', what)
  if (!isObject(body)) throw unreadable(`answered ${status} without a JSON object`)
  const flags = [body.active, body.valid].filter((value) => value !== undefined)
  if (flags.length === 0) throw unreadable('the answer has neither "active" nor "valid"')
  if (!flags.every((value) => typeof value === 'boolean'))
    throw unreadable('the answer has an "active" or "valid" that is not a boolean')
  if (flags.length === 2 && flags[0] !== flags[1])
    throw unreadable('the answer\'s "active" and "valid" contradict each other')
  if (flags[0] === false) return { active: false, reason: 'token_inactive' }
  const subject = [body.sub, body.subject, body.user_id].find((value) => typeof value === 'string') as
    | string
    | undefined
  const scopes = strictScopes(body.scope, body.scopes)
  if (scopes === 'invalid') throw unreadable('the answer has a "scope" that is neither a string nor strings')
  const exp = epochSeconds(body.exp)
  if (exp === 'invalid') throw unreadable('the answer has an "exp" that is not seconds since the epoch')
  const expiresAt = exp ?? dateFrom(body.expires_at)
  if (expiresAt === undefined && body.expires_at !== undefined && body.expires_at !== null)
    throw unreadable('the answer has an "expires_at" that is not a date')
  return {
    active: true,
    claims: body,
    ...(subject === undefined ? {} : { subject }),
    ...(scopes === undefined ? {} : { scopes }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  }
}

function headersOption(headers: unknown): Record<string, string> {
  if (headers === undefined) return {}
  if (!isObject(headers))
    throw new TypeError(`${NAME}: "headers" must be an object of header names to strings`)
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new TypeError(`${NAME}: "headers.${name}" must be a string`)
    const lower = name.toLowerCase()
    if (lower === 'authorization') {
      throw new TypeError(`${NAME}: "headers" may not set Authorization; it carries the token being checked`)
    }
    out[lower] = value
  }
  return out
}

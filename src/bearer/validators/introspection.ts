import { KeywardError } from '../../core/errors.js'
import { fingerprint } from '../../core/fingerprint.js'
import { optionNames, refuseUnknownOptions } from '../../core/options.js'
import { readSetting, settingOption } from '../../core/settings.js'
import type { KeyResolver } from '../../worker-key/key-resolver.js'
import { epochSeconds, isObject, parseJson, strictScopes } from './answer-fields.js'
import { type TransportOptions, transport } from './http-client.js'
import { statusFailure, unavailable } from './http-failures.js'
import { ownValidator } from './own-validator.js'
import { readinessFloor } from './readiness-floor.js'
import { safeUrl, serviceUrl } from './service-url.js'
import type { TokenResult, TokenValidator } from './types.js'

const NAME = 'introspectionValidator'

export interface IntrospectionValidatorOptions extends TransportOptions {
  /**
   * The authorization server's introspection endpoint (RFC 7662), or a resolver such as
   * `fromEnv('INTROSPECTION_URL')` read at every validation (F1). No default.
   */
  url: string | URL | KeyResolver
  /** This API's client id at the authorization server, or a resolver. */
  clientId: string | KeyResolver
  /**
   * This API's client secret, or a resolver such as `fromEnv('INTROSPECTION_CLIENT_SECRET')`.
   * Unset at request time is 500 `server_misconfigured` naming the variable.
   */
  clientSecret: string | KeyResolver
  /**
   * How the client authenticates (RFC 6749 §2.3.1): `'client_secret_basic'` (default; HTTP Basic
   * with form-encoded id and secret) or `'client_secret_post'` (both in the form body).
   */
  clientAuthentication?: 'client_secret_basic' | 'client_secret_post'
  /** Sent as `token_type_hint`. Default `'access_token'`; `false` sends none. */
  tokenTypeHint?: string | false
  /**
   * Audience(s) this API accepts: when set, a token whose `aud` names none of them is refused
   * (`token_claim_invalid`), so a token minted for another API does not work here.
   */
  audience?: string | readonly string[]
}

const OPTION_NAMES = optionNames<IntrospectionValidatorOptions>()(
  'url',
  'clientId',
  'clientSecret',
  'clientAuthentication',
  'tokenTypeHint',
  'audience',
  'timeout',
  'connectTimeout',
  'connections',
  'keepAliveTimeout',
)

/**
 * Validates tokens by OAuth 2.0 Token Introspection (RFC 7662): `POST url` with
 * `token=<token>` and client authentication. `active: true` accepts, and `sub`, `scope`, `exp`,
 * `client_id` and the other members become `req.auth`; `active: false`, an `exp` in the past, a
 * `token_type` other than Bearer or a foreign `aud` refuse. A 401/403 means the server refused
 * *our* client credentials: 500 `server_misconfigured`, not a bad token.
 */
export function introspectionValidator(
  options: IntrospectionValidatorOptions,
): TokenValidator & { close(): Promise<void> } {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${NAME}: pass an options object such as { url, clientId, clientSecret }`)
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const readUrl = settingOption(options.url, 'url', NAME)
  if (typeof options.url !== 'function') serviceUrl(String(options.url), options.url, 'url', NAME)
  const readClientId = settingOption(options.clientId, 'clientId', NAME)
  const readClientSecret = settingOption(options.clientSecret, 'clientSecret', NAME)
  const method = options.clientAuthentication ?? 'client_secret_basic'
  if (method !== 'client_secret_basic' && method !== 'client_secret_post') {
    throw new TypeError(
      `${NAME}: "clientAuthentication" must be 'client_secret_basic' or 'client_secret_post'`,
    )
  }
  const hint = options.tokenTypeHint ?? 'access_token'
  if (hint !== false && (typeof hint !== 'string' || hint === '')) {
    throw new TypeError(`${NAME}: "tokenTypeHint" must be a non-empty string or false`)
  }
  const audiences = audienceOption(options.audience)
  const http = transport(options, NAME)
  const floor = readinessFloor()

  const settings = async () => {
    const url = serviceUrl(await readSetting(readUrl, options.url, 'url', NAME), options.url, 'url', NAME)
    const clientId = await readSetting(readClientId, options.clientId, 'clientId', NAME)
    const clientSecret = await readSetting(readClientSecret, options.clientSecret, 'clientSecret', NAME)
    return { url, clientId, clientSecret }
  }

  const introspect = async (
    token: string,
    signal: AbortSignal,
    resolved?: Awaited<ReturnType<typeof settings>>,
  ) => {
    const { url, clientId, clientSecret } = resolved ?? (await settings())
    const form = new URLSearchParams({ token })
    if (hint !== false) form.set('token_type_hint', hint)
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    }
    if (method === 'client_secret_basic') {
      headers.authorization = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`
    } else {
      form.set('client_id', clientId)
      form.set('client_secret', clientSecret)
    }
    const response = await http.request(url, { method: 'POST', headers, body: form.toString(), signal })
    if (response.status === 401 || response.status === 403) {
      throw new KeywardError({
        code: 'server_misconfigured',
        reason: 'validator_client_rejected',
        message: `${NAME}: ${safeUrl(url)} refused this API's client credentials (client "${clientId}", ${method}, status ${response.status}) — check clientId/clientSecret and the client's token_endpoint_auth_method`,
      })
    }
    if (response.status !== 200)
      throw statusFailure(response.status, response.headers, `${NAME}: ${safeUrl(url)} `)
    const body = parseJson(response.text)
    if (!isObject(body) || typeof body.active !== 'boolean') {
      throw unavailable(
        'validator_bad_response',
        `${NAME}: ${safeUrl(url)} answered without a JSON object with a boolean "active"`,
      )
    }
    return body
  }

  const validate = async (token: string, context: { signal: AbortSignal }): Promise<TokenResult> => {
    const body = await introspect(token, context.signal)
    return verdictOf(body, audiences)
  }

  ownValidator(validate)
  return Object.assign(validate, {
    // a made-up token: the answer must be a well-formed "active": false, which also proves
    // that the server accepts our client credentials
    async ready() {
      const resolved = await settings()
      const key = `${resolved.url.href}\u0000${resolved.clientId}\u0000${fingerprint(resolved.clientSecret)}`
      await floor(key, async () => {
        await introspect('keyward-readiness-probe', AbortSignal.timeout(options.timeout ?? 5000), resolved)
      })
    },
    close: () => http.close(),
  })
}

/**
 * RFC 7662 §2.2, read strictly: `exp`/`nbf` are seconds (a number or a string of digits) and
 * `scope` a string; an answer with anything else there cannot be read (503), rather than read
 * as "no expiry" or "no scopes".
 */
function verdictOf(body: Record<string, unknown>, audiences: readonly string[] | undefined): TokenResult {
  if (body.active !== true) return { active: false, reason: 'token_inactive' }
  const unreadable = (member: string) =>
    unavailable('validator_bad_response', `${NAME}: the answer's "${member}" is not of the RFC 7662 type`)
  const now = Date.now()
  const expiresAt = epochSeconds(body.exp)
  if (expiresAt === 'invalid') throw unreadable('exp')
  if (expiresAt !== undefined && expiresAt.getTime() <= now) return { active: false, reason: 'token_expired' }
  const notBefore = epochSeconds(body.nbf)
  if (notBefore === 'invalid') throw unreadable('nbf')
  if (notBefore !== undefined && notBefore.getTime() > now)
    return { active: false, reason: 'token_claim_invalid' }
  // a sender-constrained (DPoP, mTLS) token presented as a plain bearer token is not valid here
  if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
    return { active: false, reason: 'token_claim_invalid' }
  }
  if (audiences !== undefined) {
    const aud = typeof body.aud === 'string' ? [body.aud] : Array.isArray(body.aud) ? body.aud : []
    if (!aud.some((value) => audiences.includes(value as string)))
      return { active: false, reason: 'token_claim_invalid' }
  }
  // RFC 7662 §2.2: a space-separated string, nothing else
  const scopes = typeof body.scope === 'string' || body.scope == null ? strictScopes(body.scope) : 'invalid'
  if (scopes === 'invalid') throw unreadable('scope')
  return {
    active: true,
    claims: body,
    ...(typeof body.sub === 'string' ? { subject: body.sub } : {}),
    ...(scopes === undefined ? {} : { scopes }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  }
}

// RFC 6749 §2.3.1: id and secret are form-encoded before Basic's base64
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2)
}

function audienceOption(audience: unknown): readonly string[] | undefined {
  if (audience === undefined) return undefined
  const list = typeof audience === 'string' ? [audience] : audience
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((value) => typeof value === 'string' && value !== '')
  ) {
    throw new TypeError(`${NAME}: "audience" must be a non-empty string or array of strings`)
  }
  return [...list]
}

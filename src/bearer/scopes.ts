import { allow, type Decision, deny } from '../core/decision.js'
import type { GuardOptions } from '../core/guard.js'
import { optionNames, refuseUnknownOptions } from '../core/options.js'
import type { RequestFacts } from '../core/request.js'
import { expressGuard, type Guard, type GuardRequest } from '../express/guard.js'
import { bearerChallenge, isScopeToken, realmOption } from './www-authenticate.js'

const NAME = 'requireScopes'

export interface RequireScopesOptions extends GuardOptions {
  /** The `realm` of the `WWW-Authenticate` challenge; use the same as `delegateBearerAuth`. Default `'api'`. */
  realm?: string
}

const OPTION_NAMES = optionNames<RequireScopesOptions>()('realm', 'onError', 'onDecision', 'logger')

/**
 * Refuses requests whose token lacks any of the given scopes: 403 `insufficient_scope` with
 * `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` (RFC 6750 §3.1). Place it
 * after `delegateBearerAuth`; a request that reached it without `req.auth` gets 401.
 *
 * @example app.delete('/items/:id', requireScopes('items:write'), handler)
 */
export function requireScopes(...scopes: string[]): Guard
/** The same, with options: `requireScopes(['items:write'], { realm: 'items' })`. */
export function requireScopes(scopes: readonly string[], options: RequireScopesOptions): Guard
export function requireScopes(...args: unknown[]): Guard {
  const [first, second] = args
  const withOptions = Array.isArray(first)
  const scopes = (withOptions ? first : args) as unknown[]
  const options = (withOptions ? (second ?? {}) : {}) as RequireScopesOptions
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${NAME}: the second argument must be an options object such as { realm: 'items' }`)
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  if (scopes.length === 0)
    throw new TypeError(`${NAME}: name at least one scope, e.g. requireScopes('items:read')`)
  scopes.forEach((scope, i) => {
    if (!isScopeToken(scope)) {
      throw new TypeError(
        `${NAME}: scope ${i + 1} must be a scope name (visible ASCII, no spaces or quotes); got ${typeof scope === 'string' ? JSON.stringify(scope) : typeof scope}`,
      )
    }
  })
  const required = [...(scopes as string[])]
  const realm = realmOption(options.realm ?? 'api', NAME)

  // it reads what an earlier guard set on the request, so it has no credential of its own and
  // cannot be composed with anyOf; its authenticate() reads req.auth of the request it is given
  const decide = (input: RequestFacts): Decision => {
    const auth = (input.req as GuardRequest).auth
    if (auth === undefined) {
      return deny('missing_credentials', 'no_header', {
        headers: { 'WWW-Authenticate': bearerChallenge(realm) },
      })
    }
    // only a bearer token carries scopes: a worker or widget key grants none
    const granted = new Set(auth.kind === 'bearer' ? auth.scopes : [])
    const missing = required.filter((scope) => !granted.has(scope))
    const context = { keyFingerprint: auth.keyId, keyId: auth.keyId }
    if (missing.length > 0) {
      return deny('insufficient_scope', 'scope_missing', {
        ...context,
        headers: { 'WWW-Authenticate': bearerChallenge(realm, 'insufficient_scope', required) },
        detail: { missing: missing.join(' ') },
      })
    }
    return allow(auth, 'token_active', context)
  }

  return expressGuard(NAME, { decide }, options, {
    ready: async () => {},
    invalidate: () => {},
    stats: () => ({ hits: 0, misses: 0, refreshes: 0, failures: 0 }),
  })
}

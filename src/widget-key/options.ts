import type { Clock } from '../core/clock.js'
import type { GuardOptions } from '../core/guard.js'
import type { InvalidationSource } from '../core/invalidation-source.js'
import { optionNames, positiveInteger } from '../core/options.js'
import type { KeywardRequest } from '../core/request.js'
import { HashLimiter } from './hash-limiter.js'
import { isWidgetKeyPrefix } from './keys.js'
import type { WidgetRecordsAnswer } from './record-set.js'
import type { ParseOptions } from './records/types.js'

const NAME = 'verifyWidgetKey'

export type { InvalidationSource }

/** What the `records` resolver gets besides the tenant id. */
export interface WidgetRecordsContext {
  /** Aborts when the answer is no longer wanted: `timeout` passed, or the tenant was invalidated. */
  readonly signal: AbortSignal
}

export interface WidgetKeyOptions extends GuardOptions, ParseOptions {
  /**
   * The hash resolver: the tenant's PBKDF2 record(s), read when a request needs them. Several
   * records = a rotation grace period (each may carry `expiresAt`). `null`/`undefined` = no such
   * tenant. A throw or rejection is "cannot decide" (503), never "no".
   *
   * It gets the tenant id and no request: its answer is cached per tenant id and served to every
   * request for that id, so an answer that depended on anything else (a sandbox/live header, a
   * host name) would leak into requests it was not read for. Put everything the records depend on
   * into the id `tenant(req)` returns, e.g. `live:acme` vs `sandbox:acme`.
   *
   * `signal` aborts when the answer is no longer wanted: after `timeout`, or when the tenant is
   * invalidated while the read runs. Pass it to your client where it takes one.
   */
  records: (
    tenantId: string,
    context: WidgetRecordsContext,
  ) => WidgetRecordsAnswer | Promise<WidgetRecordsAnswer>
  /**
   * The tenant of a request: the id the records are read and cached by. Default: the
   * `tenantHeader` header. It gets the request as it was given: Express's (or Node's) request in
   * the middleware, whatever was passed to `authenticate()` otherwise (read `req.headers`, which
   * both have).
   */
  tenant?: (req: KeywardRequest) => string | undefined
  /**
   * Header naming the tenant. Default `'x-tenant-id'`. The default `tenant` reads it, and the
   * guard's preflight answer names it in `Access-Control-Allow-Headers` (with a custom `tenant`,
   * give the header your function reads, if any).
   */
  tenantHeader?: string
  /** Header carrying the widget key. Default `'x-widget-key'`. */
  header?: string
  /** How long a tenant's records are used before they are read again, ms. Default 60 000. */
  recordTtl?: number
  /** How long a verified key is remembered for a record, ms. Default 300 000 (5 min). */
  verifiedTtl?: number
  /** How long "no such tenant" and "this key does not match" are remembered, ms. Default 5 000. */
  negativeTtl?: number
  /** Most tenants whose records are cached. Default 10 000. */
  cacheSize?: number
  /** @deprecated Former name of `cacheSize`; warns once. */
  maxTenants?: number
  /** Most verified keys cached. Default 50 000. */
  maxVerifiedKeys?: number
  /**
   * Most refusals cached, in each of two caches of their own: unknown tenants, and keys that
   * do not match. Default 1 000. Kept apart from the tenants and verified keys, so a flood of junk
   * tenant ids or wrong keys evicts only other junk, never a real tenant's records or keys.
   */
  negativeCacheSize?: number
  /**
   * Most PBKDF2 derivations running at once; more are refused with 503 + Retry-After instead of
   * queueing behind a flood. Default 8 (Node's thread pool has 4 threads).
   */
  maxHashesInFlight?: number
  /**
   * Most derivations running at once for one tenant, within `maxHashesInFlight`; beyond it that
   * tenant's requests are refused with 503 + Retry-After (reason `hashing_overloaded`) while other
   * tenants keep their slots. Default 2 (at most `maxHashesInFlight`): a tenant id is public and
   * each wrong key costs a derivation, so without a share one tenant's flood takes every slot.
   */
  maxHashesPerTenant?: number
  /**
   * How long a store read may take before the answer is 503 (`record_store_timeout`), ms.
   * Default 2 000. The resolver's `signal` aborts then.
   */
  timeout?: number
  /** @deprecated Former name of `timeout`; warns once. */
  storeTimeout?: number
  /**
   * Origins allowed to use keys (`Origin` header), for every tenant; records may carry their own
   * `origins`, which take precedence. When a list applies, a request whose `Origin` is not exactly
   * one of them (a serialised origin, `scheme://host[:port]` as browsers send it), or that has no
   * `Origin`, is 403 `forbidden_origin`. Entries are origins only: one with a path, query, userinfo
   * or percent-encoding is a TypeError here (upper case, a trailing `/` and a default port are
   * read as the origin they name). `'*'`: any origin. Default: any origin.
   *
   * This list is also what the guard's preflight answer allows (see `preflight`): a preflight
   * carries no key, so the tenant's records are not read for it and their `origins` cannot apply.
   */
  origins?: readonly string[]
  /**
   * What happens to a real CORS preflight: `OPTIONS` with `Origin` and
   * `Access-Control-Request-Method` and no body (no `Transfer-Encoding`, `Content-Length` absent
   * or 0). Browsers send no key on it, so it is the one request that goes without one.
   * - `'respond'` (default): the guard answers it itself, 204, and no later handler runs. With
   *   `origins` set and the request's origin in it, the answer carries
   *   `Access-Control-Allow-Origin: <origin>`, `Access-Control-Allow-Headers` (the key and tenant
   *   headers), `Access-Control-Allow-Methods` and `Vary: Origin`; otherwise it carries no CORS
   *   headers and the browser stops there.
   * - `'next'`: real preflights go on to the next handler (e.g. `cors()` mounted after the guard),
   *   which must answer them.
   *
   * Every other `OPTIONS` request needs a key like any other. To let `cors()` answer preflights
   * with its own policy, mount it before the guard instead: `app.use(cors(policy), guard)`.
   */
  preflight?: 'respond' | 'next'
  /**
   * @deprecated Use `preflight`. `true` is the default `preflight: 'respond'`; `false` makes every
   * `OPTIONS`, preflights included, need a key. Using it emits a `DeprecationWarning`
   * (`KEYWARD_PASS_PREFLIGHT`) once per process.
   */
  passPreflight?: boolean
  /**
   * Reserve a prefix for keys made by `createWidgetKey` (e.g. `'wid_'`): keys with it must carry
   * a valid checksum, which is checked before any store read or hashing, so a mistyped or
   * truncated key costs nothing. Default: unset, because tenants may hold keys of the same shape
   * written by another system, which carry no checksum.
   */
  keyPrefix?: string
  /**
   * With `keyPrefix`: refuse every key that does not start with it (401 `invalid_credentials`,
   * reason `key_prefix_missing`) before any store read or hashing, so prefix-less junk costs
   * nothing either. Default false: a key without the prefix is verified normally, for tenants
   * whose keys were made elsewhere. Set it once every tenant's key was made by `createWidgetKey`.
   */
  requireKeyPrefix?: boolean
  /** Push invalidation: a message for a tenant drops its cached records. */
  invalidation?: InvalidationSource
  /** Tenant id `ready()` asks the store for (its answer may be empty). Default `'__keyward_ready__'`. */
  readyTenant?: string
  /** Clock for cache ages, ms; for tests. Default `performance`. */
  clock?: Clock
}

export const WIDGET_KEY_OPTION_NAMES = optionNames<WidgetKeyOptions>()(
  'records',
  'tenant',
  'tenantHeader',
  'header',
  'recordTtl',
  'verifiedTtl',
  'negativeTtl',
  'cacheSize',
  'maxTenants',
  'maxVerifiedKeys',
  'negativeCacheSize',
  'maxHashesInFlight',
  'maxHashesPerTenant',
  'timeout',
  'storeTimeout',
  'origins',
  'preflight',
  'passPreflight',
  'keyPrefix',
  'requireKeyPrefix',
  'invalidation',
  'readyTenant',
  'clock',
  'saltEncoding',
  'hashEncoding',
  'onError',
  'onDecision',
  'logger',
)

let warnedPassPreflight = false

export function preflightMode(options: WidgetKeyOptions): 'respond' | 'next' | 'check' {
  const { preflight, passPreflight } = options
  if (passPreflight !== undefined) {
    if (preflight !== undefined) {
      throw new TypeError(`${NAME}: give "preflight" only; "passPreflight" is its deprecated form`)
    }
    if (typeof passPreflight !== 'boolean') {
      throw new TypeError(`${NAME}: "passPreflight" (deprecated) must be a boolean; use "preflight" instead`)
    }
    if (!warnedPassPreflight) {
      warnedPassPreflight = true
      process.emitWarning(
        `${NAME}: "passPreflight" is deprecated. Real CORS preflights are now answered by the guard ` +
          `(preflight: 'respond', the default) and every other OPTIONS request needs a key; ` +
          `use preflight: 'next' to hand preflights on to cors() after the guard, or mount cors() before it.`,
        { type: 'DeprecationWarning', code: 'KEYWARD_PASS_PREFLIGHT' },
      )
    }
    return passPreflight ? 'respond' : 'check'
  }
  if (preflight === undefined || preflight === 'respond' || preflight === 'next')
    return preflight ?? 'respond'
  throw new TypeError(
    `${NAME}: "preflight" must be 'respond' (the guard answers real CORS preflights; the default) ` +
      `or 'next' (hand them on, e.g. to cors() after the guard); got ${JSON.stringify(String(preflight))}`,
  )
}

export function hashLimiter(options: WidgetKeyOptions): HashLimiter {
  const max = positiveInteger(options.maxHashesInFlight ?? 8, 'maxHashesInFlight', NAME)
  if (options.maxHashesPerTenant === undefined) return new HashLimiter(max, Math.min(2, max))
  const perTenant = positiveInteger(options.maxHashesPerTenant, 'maxHashesPerTenant', NAME)
  if (perTenant > max) {
    throw new TypeError(
      `${NAME}: "maxHashesPerTenant" (${perTenant}) is a share of "maxHashesInFlight" (${max}) and cannot exceed it`,
    )
  }
  return new HashLimiter(max, perTenant)
}

export function keyPrefixOptions(options: WidgetKeyOptions): {
  keyPrefix?: string
  requireKeyPrefix: boolean
} {
  const { keyPrefix, requireKeyPrefix = false } = options
  if (keyPrefix !== undefined && !isWidgetKeyPrefix(keyPrefix)) {
    throw new TypeError(
      `${NAME}: "keyPrefix" must be the prefix createWidgetKey puts on keys, 1-32 characters of A-Z a-z 0-9 . _ - (e.g. 'wid_')`,
    )
  }
  if (typeof requireKeyPrefix !== 'boolean') {
    throw new TypeError(`${NAME}: "requireKeyPrefix" must be a boolean`)
  }
  if (requireKeyPrefix && keyPrefix === undefined) {
    throw new TypeError(
      `${NAME}: "requireKeyPrefix" needs "keyPrefix", the prefix every key must start with (e.g. 'wid_')`,
    )
  }
  return keyPrefix === undefined ? { requireKeyPrefix } : { keyPrefix, requireKeyPrefix }
}

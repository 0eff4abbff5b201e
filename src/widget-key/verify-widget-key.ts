import type { ServerResponse } from 'node:http'
import type { WidgetAuth } from '../core/auth.js'
import { cannotDecide } from '../core/cannot-decide.js'
import type { Clock } from '../core/clock.js'
import { equalBytes } from '../core/compare.js'
import { extractCredential, headerName } from '../core/credentials.js'
import { allow, type CacheState, type Decision, deny, failure, opt } from '../core/decision.js'
import { KeywardError, type KeywardReason } from '../core/errors.js'
import { fingerprintOfDigest, sha256 } from '../core/fingerprint.js'
import { foreignErrorName } from '../core/foreign-error.js'
import type { GuardOptions } from '../core/guard.js'
import {
  optionNames,
  positiveInteger,
  positiveNumber,
  refuseUnknownOptions,
  renamedOption,
} from '../core/options.js'
import type { KeywardRequest, RequestFacts } from '../core/request.js'
import { ResolverCache } from '../core/resolver-cache.js'
import { expressGuard, type Guard } from '../express/guard.js'
import { HashingOverloadedError, HashLimiter } from './hash-limiter.js'
import { checkWidgetKeyShape, isWidgetKeyPrefix } from './keys.js'
import { normaliseOrigins, originAllowed, parseRequestOrigin } from './origins.js'
import { derive } from './pbkdf2.js'
import { type LoadedRecord, loadRecords, type TenantRecords, type WidgetRecordsAnswer } from './record-set.js'
import type { HashRecord, ParseOptions } from './records/types.js'

const NAME = 'verifyWidgetKey'

/** A push source of "drop this tenant's cached state" messages (Redis, Postgres, your own bus). */
export interface InvalidationSource {
  /** Calls `listener(id)` for each message, `listener()` to drop everything; returns unsubscribe. */
  subscribe(listener: (id?: string) => void): () => void
}

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

interface VerifyContext {
  tenantId: string
  key: string
  record: HashRecord
}

/** What a preflight answer allows; the routes behind the guard decide what they serve. */
const PREFLIGHT_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE'

const TENANT_ID = /^[\x21-\x7e]{1,256}$/

const OPTION_NAMES = optionNames<WidgetKeyOptions>()(
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

/**
 * Verifies per-tenant widget keys against PBKDF2 hash records: the tenant's records are read at
 * request time and cached, every verification result is cached by tenant + record fingerprint +
 * SHA-256 of the key, identical concurrent lookups and derivations coalesce, and a key that
 * fails against a cached record re-reads the record once before the answer is no (F2).
 */
export function verifyWidgetKey(options: WidgetKeyOptions): Guard<WidgetAuth> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${NAME}: pass an options object such as { records: (tenantId) => store.get(tenantId) }`,
    )
  }
  if (typeof options.records !== 'function') {
    throw new TypeError(
      `${NAME}: "records" must be a function (tenantId, { signal }) => record(s) | null, e.g. a query of your hash store`,
    )
  }
  if (options.tenant !== undefined && typeof options.tenant !== 'function') {
    throw new TypeError(
      `${NAME}: "tenant" must be a function (req) => tenantId; by default the x-tenant-id header`,
    )
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const header = headerName(options.header ?? 'x-widget-key', 'header', NAME)
  const tenantHeader = headerName(options.tenantHeader ?? 'x-tenant-id', 'tenantHeader', NAME)
  const recordTtl = positiveNumber(options.recordTtl ?? 60_000, 'recordTtl', NAME)
  const verifiedTtl = positiveNumber(options.verifiedTtl ?? 300_000, 'verifiedTtl', NAME)
  const negativeTtl = positiveNumber(options.negativeTtl ?? 5_000, 'negativeTtl', NAME)
  const named = options as unknown as Record<string, unknown>
  const storeTimeout = positiveNumber(
    renamedOption<number>(named, 'timeout', 'storeTimeout', NAME) ?? 2_000,
    'timeout',
    NAME,
  )
  const maxTenants = positiveInteger(
    renamedOption<number>(named, 'cacheSize', 'maxTenants', NAME) ?? 10_000,
    'cacheSize',
    NAME,
  )
  const maxVerifiedKeys = positiveInteger(options.maxVerifiedKeys ?? 50_000, 'maxVerifiedKeys', NAME)
  const maxNegative = positiveInteger(options.negativeCacheSize ?? 1_000, 'negativeCacheSize', NAME)
  const limiter = hashLimiter(options)
  const allowedOrigins = options.origins ? normaliseOrigins(options.origins, `${NAME}: "origins"`) : undefined
  const preflight = preflightMode(options)
  const { keyPrefix, requireKeyPrefix } = keyPrefixOptions(options)
  const parseOptions: ParseOptions = {}
  if (options.saltEncoding !== undefined) parseOptions.saltEncoding = options.saltEncoding
  if (options.hashEncoding !== undefined) parseOptions.hashEncoding = options.hashEncoding
  const tenantOf: (input: RequestFacts) => string | undefined = options.tenant
    ? (input) => (options.tenant as (req: KeywardRequest) => string | undefined)(input.req)
    : (input) => singleHeader(input.header(tenantHeader))
  const clock = options.clock ?? performance

  const readStore = async (tenantId: string, cacheSignal?: AbortSignal): Promise<TenantRecords> => {
    // one controller for both causes, with listeners removed when the read ends: composite
    // signals (AbortSignal.any) are kept alive by their sources on Node 20, one per store read
    const controller = new AbortController()
    const { signal } = controller
    const timer = setTimeout(() => controller.abort(new StoreTimeoutError()), storeTimeout)
    const forward = () => controller.abort(cacheSignal?.reason)
    cacheSignal?.addEventListener('abort', forward, { once: true })
    if (cacheSignal?.aborted) forward()
    let stopWaiting: () => void = () => {}
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(signal.reason)
      if (signal.aborted) onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      stopWaiting = () => signal.removeEventListener('abort', onAbort)
    })
    try {
      const answer = await Promise.race([options.records(tenantId, { signal }), aborted])
      return loadRecords(answer, parseOptions)
    } finally {
      clearTimeout(timer)
      stopWaiting()
      cacheSignal?.removeEventListener('abort', forward)
    }
  }

  const recordCache = new ResolverCache<TenantRecords>({
    load: (tenantId, _context, signal) => readStore(tenantId, signal),
    ttl: recordTtl,
    max: maxTenants,
    ttlFor: (records) => (records.found ? recordTtl : negativeTtl),
    negative: { is: (records) => !records.found, max: maxNegative },
    clock,
  })

  const verifiedKeys = new ResolverCache<boolean>({
    load: async (_cacheKey, context) => {
      const { tenantId, key, record } = context as VerifyContext
      const derived = await limiter.run(tenantId, () => derive(key, record))
      return equalBytes(derived, record.hash)
    },
    ttl: verifiedTtl,
    max: maxVerifiedKeys,
    ttlFor: (matches) => (matches ? verifiedTtl : negativeTtl),
    negative: { is: (matches) => !matches, max: maxNegative },
    clock,
  })
  const verifiedCounters = { verifiedHits: 0, verifiedMisses: 0 }

  options.invalidation?.subscribe((tenantId) => recordCache.invalidate(tenantId || undefined))

  /**
   * Checks the key against each live record; returns the matching one, if any, and whether it
   * is known (from earlier verifications, without deriving again) to match an expired record.
   */
  const findMatch = async (
    tenantId: string,
    key: string,
    keyDigest: string,
    records: LoadedRecord[],
    now: number,
  ): Promise<{ match?: LoadedRecord; matchesExpired: boolean }> => {
    let matchesExpired = false
    for (const loaded of records) {
      const cacheKey = `${tenantId}\u0000${loaded.fingerprint}\u0000${keyDigest}`
      if (loaded.expiresAt !== undefined && loaded.expiresAt <= now) {
        if (verifiedKeys.peek(cacheKey) === true) matchesExpired = true
        continue
      }
      let matches = verifiedKeys.peek(cacheKey)
      if (matches === undefined) {
        verifiedCounters.verifiedMisses++
        const context: VerifyContext = { tenantId, key, record: loaded.record }
        matches = (await verifiedKeys.get(cacheKey, context)).value
      } else verifiedCounters.verifiedHits++
      if (matches) return { match: loaded, matchesExpired }
    }
    return { matchesExpired }
  }

  /** The key matched `match`: allow, unless the request's origin may not use it. */
  const accept = (
    input: RequestFacts,
    match: LoadedRecord,
    reason: KeywardReason,
    cache: CacheState,
    context: { keyFingerprint: string; tenantId: string },
  ): Decision => {
    // the same member as on a refusal, where it lists every record tried
    const detail = { records: match.fingerprint }
    const origin = singleHeader(input.header('origin'))
    if (!originAllowed(match.origins ?? allowedOrigins, origin)) {
      const why: KeywardReason =
        origin !== undefined && parseRequestOrigin(origin) === undefined
          ? 'origin_malformed'
          : 'origin_not_allowed'
      return deny('forbidden_origin', why, { ...context, cache, detail })
    }
    return allow({ kind: 'widget', tenantId: context.tenantId, keyId: match.fingerprint }, reason, {
      ...context,
      keyId: match.fingerprint,
      cache,
      detail,
    })
  }

  /**
   * The synchronous fast path: records cached and this key already verified against one of
   * them. Anything else (a miss, a "no", an expired record) takes the full path.
   */
  const decideFromCache = (
    input: RequestFacts,
    tenantId: string,
    keyDigest: string,
    keyFingerprint: string,
  ): Decision | undefined => {
    const state = recordCache.peek(tenantId)
    if (!state?.found) return undefined
    const now = Date.now()
    for (const loaded of state.records) {
      if (loaded.expiresAt !== undefined && loaded.expiresAt <= now) continue
      const verified = verifiedKeys.peek(`${tenantId}\u0000${loaded.fingerprint}\u0000${keyDigest}`)
      if (verified === true) {
        recordCache.countHit()
        verifiedCounters.verifiedHits++
        return accept(input, loaded, 'key_match', 'hit', { keyFingerprint, tenantId })
      }
      if (verified === undefined) return undefined
    }
    return undefined
  }

  const decideFor = async (
    input: RequestFacts,
    tenantId: string,
    key: string,
    keyDigest: string,
    keyFingerprint: string,
  ): Promise<Decision> => {
    const context = { keyFingerprint, tenantId }
    try {
      const loaded = await recordCache.get(tenantId)
      let state = loaded.value
      let cache: CacheState = loaded.cache
      let result = state.found
        ? await findMatch(tenantId, key, keyDigest, state.records, Date.now())
        : undefined
      let reason: KeywardReason = 'key_match'
      if (!result?.match) {
        // re-read once: the record may have been rotated since we cached it (F2)
        // (records this request just loaded are as fresh as they get)
        const refreshed = loaded.cache === 'miss' ? undefined : await recordCache.refresh(tenantId)
        if (refreshed) {
          state = refreshed.value
          cache = 'refresh'
          result = state.found
            ? await findMatch(tenantId, key, keyDigest, state.records, Date.now())
            : undefined
          reason = 'record_stale_refreshed'
        }
      }
      if (!state.found) return deny('invalid_credentials', 'unknown_tenant', { ...context, cache })
      if (result?.match) return accept(input, result.match, reason, cache, context)
      if (state.invalid.length > 0) {
        const first = state.invalid[0]!
        return failure(
          new KeywardError({
            code: 'server_misconfigured',
            reason: 'record_invalid',
            message: `${NAME}: tenant "${tenantId}" has an unreadable hash record: ${first.message}`,
            middleware: NAME,
          }),
          { ...context, cache },
        )
      }
      const why: KeywardReason = result?.matchesExpired ? 'record_expired' : 'key_mismatch'
      return deny('invalid_credentials', why, {
        ...context,
        cache,
        detail: { records: state.records.map((r) => r.fingerprint).join(',') },
      })
    } catch (error) {
      return unavailable(error, context)
    }
  }

  const decide = (input: RequestFacts): Decision | Promise<Decision> => {
    const presented = extractCredential(input.header(header))
    if (!presented.ok) return deny(presented.code, presented.reason)
    const tenantId = tenantOf(input)
    const digest = sha256(presented.value)
    const keyFingerprint = fingerprintOfDigest(digest)
    if (tenantId === undefined || tenantId === '') {
      return deny('missing_credentials', 'no_tenant', { keyFingerprint })
    }
    if (!TENANT_ID.test(tenantId))
      return deny('invalid_request', 'header_control_characters', { keyFingerprint })
    if (keyPrefix !== undefined) {
      if (requireKeyPrefix && !presented.value.startsWith(keyPrefix)) {
        return deny('invalid_credentials', 'key_prefix_missing', { keyFingerprint, tenantId })
      }
      const shape = checkWidgetKeyShape(presented.value, keyPrefix)
      if (!shape.ok) return deny('invalid_credentials', shape.reason, { keyFingerprint, tenantId })
    }
    const keyDigest = digest.toString('base64')
    return (
      decideFromCache(input, tenantId, keyDigest, keyFingerprint) ??
      decideFor(input, tenantId, presented.value, keyDigest, keyFingerprint)
    )
  }

  const answerPreflight = (input: RequestFacts, res: ServerResponse) => {
    if (allowedOrigins !== undefined) {
      appendVary(res, 'Origin')
      const origin = parseRequestOrigin(singleHeader(input.header('origin')))
      if (origin !== undefined && originAllowed(allowedOrigins, origin)) {
        res.setHeader('Access-Control-Allow-Origin', origin)
        res.setHeader('Access-Control-Allow-Headers', `${header}, ${tenantHeader}`)
        res.setHeader('Access-Control-Allow-Methods', PREFLIGHT_METHODS)
      }
    }
    res.statusCode = 204
    res.end()
  }
  // a real preflight carries no key by design, and must not reach a route handler without one
  const answerBefore =
    preflight === 'check'
      ? undefined
      : (input: RequestFacts, res: ServerResponse, next: (err?: unknown) => void) => {
          if (!isRealPreflight(input)) return false
          if (preflight === 'next') next()
          else answerPreflight(input, res)
          return true
        }
  const present = (input: RequestFacts) => input.header(header) !== undefined

  return expressGuard<WidgetAuth>(NAME, { decide, present, ...opt({ answerBefore }) }, options, {
    async ready() {
      try {
        await readStore(options.readyTenant ?? '__keyward_ready__')
      } catch (error) {
        throw (unavailable(error, {}) as { error: KeywardError }).error
      }
    },
    invalidate(tenantId?: string) {
      recordCache.invalidate(tenantId)
    },
    stats() {
      const verified = verifiedKeys.stats()
      return {
        ...recordCache.stats(),
        ...verifiedCounters,
        verifiedSize: verified.size,
        mismatchedSize: verified.negativeSize,
        ...limiter.stats(),
      }
    },
  })
}

/**
 * A CORS preflight as browsers send it: the only request that may go without a key. Anything
 * else sent with `OPTIONS` (a body, no `Origin`, no requested method) is an ordinary request.
 */
function isRealPreflight(input: RequestFacts): boolean {
  if (input.method !== 'OPTIONS') return false
  if (!singleHeader(input.header('origin'))) return false
  if (!singleHeader(input.header('access-control-request-method'))) return false
  if (input.header('transfer-encoding') !== undefined) return false
  const length = input.header('content-length')
  return length === undefined || length === '0'
}

function appendVary(res: ServerResponse, field: string): void {
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

let warnedPassPreflight = false

function preflightMode(options: WidgetKeyOptions): 'respond' | 'next' | 'check' {
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

function hashLimiter(options: WidgetKeyOptions): HashLimiter {
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

function keyPrefixOptions(options: WidgetKeyOptions): { keyPrefix?: string; requireKeyPrefix: boolean } {
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

class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError'
}

function unavailable(error: unknown, context: { keyFingerprint?: string; tenantId?: string }): Decision {
  const overloaded = error instanceof HashingOverloadedError ? error : undefined
  const timedOut = error instanceof StoreTimeoutError
  const reason: KeywardReason = overloaded
    ? 'hashing_overloaded'
    : timedOut
      ? 'record_store_timeout'
      : 'record_store_failed'
  const what = overloaded
    ? overloaded.bound === 'tenant'
      ? "this tenant's share of key derivations is in flight (maxHashesPerTenant)"
      : 'too many key derivations in flight (maxHashesInFlight)'
    : timedOut
      ? 'the record store did not answer within timeout'
      : `the record store failed (${foreignErrorName(error)})`
  return failure(
    cannotDecide(reason, `${NAME}: ${what}`, { middleware: NAME, cause: error }),
    overloaded ? { ...context, detail: { bound: overloaded.bound } } : context,
  )
}

function singleHeader(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  return value.length === 1 ? value[0] : undefined
}

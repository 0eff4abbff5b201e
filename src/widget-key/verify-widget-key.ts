import { LRUCache } from 'lru-cache'
import { equalBytes } from '../core/compare.js'
import { extractCredential, headerName } from '../core/credentials.js'
import { allow, type CacheState, type Decision, deny, failure } from '../core/decision.js'
import { KeywardError, type KeywardReason } from '../core/errors.js'
import { fingerprintOfDigest, sha256 } from '../core/fingerprint.js'
import type { GuardOptions } from '../core/guard.js'
import { positiveInteger, positiveNumber } from '../core/options.js'
import { type Clock, ResolverCache } from '../core/resolver-cache.js'
import { expressGuard, type Guard, type GuardRequest, requestHeader } from '../express/guard.js'
import { HashingOverloadedError, HashLimiter } from './hash-limiter.js'
import { checkWidgetKeyShape } from './keys.js'
import { normaliseOrigins, originAllowed } from './origins.js'
import { derive } from './pbkdf2.js'
import { type LoadedRecord, loadRecords, type TenantRecords, type WidgetRecordsAnswer } from './record-set.js'
import type { HashRecord, ParseOptions } from './records/types.js'

const NAME = 'verifyWidgetKey'

/** A push source of "drop this tenant's cached state" messages (Redis, Postgres, your own bus). */
export interface InvalidationSource {
  /** Calls `listener(id)` for each message, `listener()` to drop everything; returns unsubscribe. */
  subscribe(listener: (id?: string) => void): () => void
}

export interface WidgetKeyOptions extends GuardOptions, ParseOptions {
  /**
   * The hash resolver: the tenant's PBKDF2 record(s), read when a request needs them. Several
   * records = a rotation grace period (each may carry `expiresAt`). `null`/`undefined` = no such
   * tenant. A throw or rejection is "cannot decide" (503), never "no". `req` is undefined when
   * `ready()` probes the store.
   */
  records: (
    tenantId: string,
    req: GuardRequest | undefined,
  ) => WidgetRecordsAnswer | Promise<WidgetRecordsAnswer>
  /** The tenant of a request. Default: the `x-tenant-id` header. */
  tenant?: (req: GuardRequest) => string | undefined
  /** Header carrying the widget key. Default `'x-widget-key'`. */
  header?: string
  /** How long a tenant's records are used before they are read again, ms. Default 60 000. */
  recordTtl?: number
  /** How long a verified key is remembered for a record, ms. Default 300 000 (5 min). */
  verifiedTtl?: number
  /** How long "no such tenant" and "this key does not match" are remembered, ms. Default 5 000. */
  negativeTtl?: number
  /** Most tenants whose records are cached. Default 10 000. */
  maxTenants?: number
  /** Most verification results cached (hits and misses). Default 50 000. */
  maxVerifiedKeys?: number
  /**
   * Most PBKDF2 derivations running at once; more are refused with 503 + Retry-After instead of
   * queueing behind a flood. Default 8 (Node's thread pool has 4 threads).
   */
  maxHashesInFlight?: number
  /** How long a store read may take before the answer is 503, ms. Default 2 000. */
  storeTimeout?: number
  /**
   * Origins allowed to use keys (`Origin` header), for every tenant; records may carry their own
   * `origins`, which take precedence. When a list applies, a request from another origin, or with
   * no `Origin`, is 403 `forbidden_origin`. Default: any origin.
   */
  origins?: readonly string[]
  /** Let `OPTIONS` (CORS preflight) pass untouched. Default true: browsers send no key on a preflight. */
  passPreflight?: boolean
  /**
   * Reserve a prefix for keys made by `createWidgetKey` (e.g. `'wid_'`): keys with it must carry
   * a valid checksum, which is checked before any store read or hashing, so a mistyped or
   * truncated key costs nothing. Default: unset, because tenants may hold keys of the same shape
   * written by another system, which carry no checksum.
   */
  keyPrefix?: string
  /** Push invalidation: a message for a tenant drops its cached records. */
  invalidation?: InvalidationSource
  /** Tenant id `ready()` asks the store for (its answer may be empty). Default `'__keyward_ready__'`. */
  readyTenant?: string
  /** Clock for cache ages, ms; for tests. Default `performance`. */
  clock?: Clock
}

interface VerifyContext {
  key: string
  record: HashRecord
}

const TENANT_ID = /^[\x21-\x7e]{1,256}$/

/**
 * Verifies per-tenant widget keys against PBKDF2 hash records: the tenant's records are read at
 * request time and cached, every verification result is cached by tenant + record fingerprint +
 * SHA-256 of the key, identical concurrent lookups and derivations coalesce, and a key that
 * fails against a cached record re-reads the record once before the answer is no (F2).
 */
export function verifyWidgetKey(options: WidgetKeyOptions): Guard {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${NAME}: pass an options object such as { records: (tenantId) => store.get(tenantId) }`,
    )
  }
  if (typeof options.records !== 'function') {
    throw new TypeError(
      `${NAME}: "records" must be a function (tenantId, req) => record(s) | null, e.g. a query of your hash store`,
    )
  }
  if (options.tenant !== undefined && typeof options.tenant !== 'function') {
    throw new TypeError(
      `${NAME}: "tenant" must be a function (req) => tenantId; by default the x-tenant-id header`,
    )
  }
  const header = headerName(options.header ?? 'x-widget-key', 'header', NAME)
  const recordTtl = positiveNumber(options.recordTtl ?? 60_000, 'recordTtl', NAME)
  const verifiedTtl = positiveNumber(options.verifiedTtl ?? 300_000, 'verifiedTtl', NAME)
  const negativeTtl = positiveNumber(options.negativeTtl ?? 5_000, 'negativeTtl', NAME)
  const storeTimeout = positiveNumber(options.storeTimeout ?? 2_000, 'storeTimeout', NAME)
  const maxTenants = positiveInteger(options.maxTenants ?? 10_000, 'maxTenants', NAME)
  const maxVerifiedKeys = positiveInteger(options.maxVerifiedKeys ?? 50_000, 'maxVerifiedKeys', NAME)
  const limiter = new HashLimiter(positiveInteger(options.maxHashesInFlight ?? 8, 'maxHashesInFlight', NAME))
  const allowedOrigins = options.origins ? normaliseOrigins(options.origins, `${NAME}: "origins"`) : undefined
  const passPreflight = options.passPreflight !== false
  const keyPrefix = options.keyPrefix
  const parseOptions: ParseOptions = {}
  if (options.saltEncoding !== undefined) parseOptions.saltEncoding = options.saltEncoding
  if (options.hashEncoding !== undefined) parseOptions.hashEncoding = options.hashEncoding
  const tenantOf = options.tenant ?? ((req: GuardRequest) => singleHeader(requestHeader(req, 'x-tenant-id')))
  const clock = options.clock ?? performance

  const readStore = async (tenantId: string, req: GuardRequest | undefined): Promise<TenantRecords> => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeoutError()), storeTimeout)
    })
    try {
      const answer = await Promise.race([options.records(tenantId, req), timeout])
      return loadRecords(answer, parseOptions)
    } finally {
      clearTimeout(timer)
    }
  }

  const recordCache = new ResolverCache<TenantRecords>({
    load: (tenantId, req) => readStore(tenantId, req as GuardRequest | undefined),
    ttl: recordTtl,
    max: maxTenants,
    ttlFor: (records) => (records.found ? recordTtl : negativeTtl),
    clock,
  })

  const verifiedKeys = new LRUCache<string, boolean, VerifyContext>({
    max: maxVerifiedKeys,
    ttl: verifiedTtl,
    perf: clock,
    fetchMethod: async (_cacheKey, _stale, { options: fetchOptions, context }) => {
      const derived = await limiter.run(() => derive(context.key, context.record))
      const matches = equalBytes(derived, context.record.hash)
      if (!matches) fetchOptions.ttl = negativeTtl
      return matches
    },
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
        if (verifiedKeys.get(cacheKey) === true) matchesExpired = true
        continue
      }
      let matches = verifiedKeys.get(cacheKey)
      if (matches === undefined) {
        verifiedCounters.verifiedMisses++
        matches = await verifiedKeys.fetch(cacheKey, { context: { key, record: loaded.record } })
      } else verifiedCounters.verifiedHits++
      if (matches) return { match: loaded, matchesExpired }
    }
    return { matchesExpired }
  }

  /** The key matched `match`: allow, unless the request's origin may not use it. */
  const accept = (
    req: GuardRequest,
    match: LoadedRecord,
    reason: KeywardReason,
    cache: CacheState,
    context: { keyFingerprint: string; tenantId: string },
  ): Decision => {
    const detail = { record: match.fingerprint }
    const origin = singleHeader(requestHeader(req, 'origin'))
    if (!originAllowed(match.origins ?? allowedOrigins, origin)) {
      return deny('forbidden_origin', 'origin_not_allowed', { ...context, cache, detail })
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
    req: GuardRequest,
    tenantId: string,
    keyDigest: string,
    keyFingerprint: string,
  ): Decision | undefined => {
    const state = recordCache.peek(tenantId)
    if (!state?.found) return undefined
    const now = Date.now()
    for (const loaded of state.records) {
      if (loaded.expiresAt !== undefined && loaded.expiresAt <= now) continue
      const verified = verifiedKeys.get(`${tenantId}\u0000${loaded.fingerprint}\u0000${keyDigest}`)
      if (verified === true) {
        verifiedCounters.verifiedHits++
        return accept(req, loaded, 'key_match', 'hit', { keyFingerprint, tenantId })
      }
      if (verified === undefined) return undefined
    }
    return undefined
  }

  const decideFor = async (
    req: GuardRequest,
    tenantId: string,
    key: string,
    keyDigest: string,
    keyFingerprint: string,
  ): Promise<Decision> => {
    const context = { keyFingerprint, tenantId }
    try {
      const loaded = await recordCache.get(tenantId, req)
      let state = loaded.value
      let cache: CacheState = loaded.cache
      let result = state.found
        ? await findMatch(tenantId, key, keyDigest, state.records, Date.now())
        : undefined
      let reason: KeywardReason = 'key_match'
      if (!result?.match) {
        // re-read once: the record may have been rotated since we cached it (F2)
        // (records this request just loaded are as fresh as they get)
        const refreshed = loaded.cache === 'miss' ? undefined : await recordCache.refresh(tenantId, req)
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
      if (result?.match) return accept(req, result.match, reason, cache, context)
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

  const decide = (req: GuardRequest): Decision | Promise<Decision> => {
    const presented = extractCredential(requestHeader(req, header))
    if (!presented.ok) return deny(presented.code, presented.reason)
    const tenantId = tenantOf(req)
    const digest = sha256(presented.value)
    const keyFingerprint = fingerprintOfDigest(digest)
    if (tenantId === undefined || tenantId === '') {
      return deny('missing_credentials', 'no_tenant', { keyFingerprint })
    }
    if (!TENANT_ID.test(tenantId))
      return deny('invalid_request', 'header_control_characters', { keyFingerprint })
    const shape = keyPrefix === undefined ? undefined : checkWidgetKeyShape(presented.value, keyPrefix)
    if (shape && !shape.ok) return deny('invalid_credentials', shape.reason, { keyFingerprint, tenantId })
    const keyDigest = digest.toString('base64')
    return (
      decideFromCache(req, tenantId, keyDigest, keyFingerprint) ??
      decideFor(req, tenantId, presented.value, keyDigest, keyFingerprint)
    )
  }

  const guard = expressGuard(NAME, decide, options, {
    async ready() {
      try {
        await readStore(options.readyTenant ?? '__keyward_ready__', undefined)
      } catch (error) {
        throw (unavailable(error, {}) as { error: KeywardError }).error
      }
    },
    invalidate(tenantId?: string) {
      recordCache.invalidate(tenantId)
    },
    stats() {
      return { ...recordCache.stats(), ...verifiedCounters, ...limiter.stats() }
    },
  })
  if (!passPreflight) return guard
  const preflightAware = (req: GuardRequest, res: Parameters<Guard>[1], next: Parameters<Guard>[2]) => {
    // a CORS preflight carries no key by design; the route's CORS handling answers it
    if (req.method === 'OPTIONS') next()
    else guard(req, res, next)
  }
  return Object.assign(preflightAware, {
    middleware: guard.middleware,
    ready: guard.ready,
    invalidate: guard.invalidate,
    stats: guard.stats,
  })
}

class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError'
}

function unavailable(error: unknown, context: { keyFingerprint?: string; tenantId?: string }): Decision {
  const overloaded = error instanceof HashingOverloadedError
  const timedOut = error instanceof StoreTimeoutError
  const reason: KeywardReason = overloaded
    ? 'hashing_overloaded'
    : timedOut
      ? 'record_store_timeout'
      : 'record_store_failed'
  const what = overloaded
    ? 'too many key derivations in flight (maxHashesInFlight)'
    : timedOut
      ? 'the record store did not answer within storeTimeout'
      : `the record store failed (${error instanceof Error ? error.name : typeof error})`
  return failure(
    new KeywardError({
      code: 'auth_unavailable',
      reason,
      headers: { 'Retry-After': '1' },
      message: `${NAME}: ${what}`,
      middleware: NAME,
      cause: error,
    }),
    context,
  )
}

function singleHeader(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  return value.length === 1 ? value[0] : undefined
}

import type { ServerResponse } from 'node:http'
import type { WidgetAuth } from '../core/auth.js'
import { cannotDecide } from '../core/cannot-decide.js'
import { equalBytes } from '../core/compare.js'
import { extractCredential, headerName } from '../core/credentials.js'
import { type CacheState, type Decision, deny, failure, opt } from '../core/decision.js'
import { KeywardError, type KeywardReason } from '../core/errors.js'
import { fingerprintOfDigest, sha256 } from '../core/fingerprint.js'
import { foreignErrorName } from '../core/foreign-error.js'
import type { WidgetKeyStats } from '../core/guard.js'
import { positiveInteger, positiveNumber, refuseUnknownOptions, renamedOption } from '../core/options.js'
import type { KeywardRequest, RequestFacts } from '../core/request.js'
import { ResolverCache } from '../core/resolver-cache.js'
import { expressGuard, type Guard } from '../express/guard.js'
import { HashingOverloadedError } from './hash-limiter.js'
import { checkWidgetKeyShape } from './keys.js'
import {
  hashLimiter,
  keyPrefixOptions,
  WIDGET_KEY_OPTION_NAMES as OPTION_NAMES,
  preflightMode,
  type WidgetKeyOptions,
} from './options.js'
import { normaliseOrigins, originAllowed, parseRequestOrigin } from './origins.js'
import { derive } from './pbkdf2.js'
import { appendVary, isRealPreflight, PREFLIGHT_METHODS, singleHeader } from './preflight.js'
import { type LoadedRecord, loadRecords, type TenantRecords } from './record-set.js'
import type { HashRecord, ParseOptions } from './records/types.js'

export type { InvalidationSource, WidgetKeyOptions, WidgetRecordsContext } from './options.js'

const NAME = 'verifyWidgetKey'

interface VerifyContext {
  tenantId: string
  key: string
  record: HashRecord
}

const TENANT_ID = /^[\x21-\x7e]{1,256}$/

/**
 * Verifies per-tenant widget keys against hash records (PBKDF2, scrypt or sha2): the tenant's
 * records are read at request time and cached, every verification result is cached by tenant +
 * record fingerprint +
 * SHA-256 of the key, identical concurrent lookups and derivations coalesce, and a key that
 * fails against a cached record re-reads the record once before the answer is no (F2).
 */
export function verifyWidgetKey(options: WidgetKeyOptions): Guard<WidgetAuth, WidgetKeyStats> {
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
    digest: Buffer,
    records: LoadedRecord[],
    now: number,
  ): Promise<{ match?: LoadedRecord; matchesExpired: boolean }> => {
    const keyDigest = digest.toString('base64')
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
      if (matches) {
        loaded.lastMatch = { digest, until: clock.now() + verifiedTtl }
        return { match: loaded, matchesExpired }
      }
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
    // one literal, no spreads: this is the warm path of every widget request
    return {
      outcome: 'allow',
      auth: { kind: 'widget', tenantId: context.tenantId, keyId: match.fingerprint },
      reason,
      keyFingerprint: context.keyFingerprint,
      tenantId: context.tenantId,
      keyId: match.fingerprint,
      cache,
      detail,
    }
  }

  /**
   * The synchronous fast path: records cached and this key already verified against one of
   * them. Anything else (a miss, a "no", an expired record) takes the full path.
   */
  const decideFromCache = (
    input: RequestFacts,
    tenantId: string,
    digest: Buffer,
    keyFingerprint: string,
  ): Decision | undefined => {
    const state = recordCache.peek(tenantId)
    if (!state?.found) return undefined
    const now = Date.now()
    let keyDigest: string | undefined
    for (const loaded of state.records) {
      if (loaded.expiresAt !== undefined && loaded.expiresAt <= now) continue
      const last = loaded.lastMatch
      if (last !== undefined && last.until > clock.now() && equalBytes(last.digest, digest)) {
        recordCache.countHit()
        verifiedCounters.verifiedHits++
        return accept(input, loaded, 'key_match', 'hit', { keyFingerprint, tenantId })
      }
      keyDigest ??= digest.toString('base64')
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
    digest: Buffer,
    keyFingerprint: string,
  ): Promise<Decision> => {
    const context = { keyFingerprint, tenantId }
    try {
      const loaded = await recordCache.get(tenantId)
      let state = loaded.value
      let cache: CacheState = loaded.cache
      let result = state.found ? await findMatch(tenantId, key, digest, state.records, Date.now()) : undefined
      let reason: KeywardReason = 'key_match'
      if (!result?.match) {
        // re-read once: the record may have been rotated since we cached it (F2)
        // (records this request just loaded are as fresh as they get)
        const refreshed = loaded.cache === 'miss' ? undefined : await recordCache.refresh(tenantId)
        if (refreshed) {
          state = refreshed.value
          cache = 'refresh'
          result = state.found ? await findMatch(tenantId, key, digest, state.records, Date.now()) : undefined
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
    return (
      decideFromCache(input, tenantId, digest, keyFingerprint) ??
      decideFor(input, tenantId, presented.value, digest, keyFingerprint)
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

  return expressGuard<WidgetAuth, WidgetKeyStats>(
    NAME,
    { decide, present, ...opt({ answerBefore }) },
    options,
    {
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
    },
  )
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

import type { WorkerAuth } from '../core/auth.js'
import { cannotDecide } from '../core/cannot-decide.js'
import type { Clock } from '../core/clock.js'
import { findDigest } from '../core/compare.js'
import { extractCredential, headerName } from '../core/credentials.js'
import { allow, type CacheState, type Decision, deny, failure } from '../core/decision.js'
import { KeywardError } from '../core/errors.js'
import { fingerprintOfDigest, sha256 } from '../core/fingerprint.js'
import { foreignErrorName } from '../core/foreign-error.js'
import type { GuardOptions, WorkerKeyStats } from '../core/guard.js'
import { optionNames, positiveNumber, refuseUnknownOptions } from '../core/options.js'
import type { RequestFacts } from '../core/request.js'
import { ResolverCache } from '../core/resolver-cache.js'
import { describeUnsetSource } from '../core/settings.js'
import { expressGuard, type Guard } from '../express/guard.js'
import { type ExpectedKey, type KeyResolver, keyResolverOption, toExpectedKeys } from './key-resolver.js'

const NAME = 'requireWorkerKey'
const CACHE_KEY = 'keys'
/** Shortest key accepted under NODE_ENV=production (F5). */
export const MIN_PRODUCTION_KEY_LENGTH = 32
/** A key resolver that failed or found no key is asked again after this long, ms. */
const RETRY_FAILED_RESOLVE_AFTER = 1000

export interface WorkerKeyOptions extends GuardOptions {
  /**
   * The expected key(s): a string, an array (several = rotation; `{ id, key }` names each), or a
   * resolver such as `fromEnv('WORKER_KEY')` called at request time. Never read a secret into a
   * constant at import time (F1).
   */
  keys: string | ReadonlyArray<string | { id: string; key: string }> | KeyResolver
  /** Header carrying the key. Default `'x-worker-key'`; matched case-insensitively. */
  header?: string
  /** How long resolved keys are used before the resolver is asked again, ms. Default 30 000. */
  cacheTtl?: number
  /**
   * Accept keys shorter than 32 characters under `NODE_ENV=production`. Default false: a short
   * production key is treated as a misconfiguration (F5).
   */
  allowWeakKeys?: boolean
  /** Clock for cache ages, ms; for tests. Default `performance`. */
  clock?: Clock
}

const OPTION_NAMES = optionNames<WorkerKeyOptions>()(
  'keys',
  'header',
  'cacheTtl',
  'allowWeakKeys',
  'clock',
  'onError',
  'onDecision',
  'logger',
)

type KeyState = { keys: ExpectedKey[]; digests: Buffer[] } | { problem: KeywardError }

/**
 * Refuses requests whose worker key header is not one of the expected keys. Keys are resolved
 * at request time and cached for `cacheTtl`; a key that matches none of the cached keys makes
 * one re-resolve (at most once a second) before the answer is no, so a rotated key works at once.
 */
export function requireWorkerKey(options: WorkerKeyOptions): Guard<WorkerAuth, WorkerKeyStats> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${NAME}: pass an options object such as { keys: fromEnv('WORKER_KEY') }`)
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const resolver = keyResolverOption(options.keys, NAME)
  const header = headerName(options.header ?? 'x-worker-key', 'header', NAME)
  const cacheTtl = positiveNumber(options.cacheTtl ?? 30_000, 'cacheTtl', NAME)
  const allowWeakKeys = options.allowWeakKeys === true

  const checkKeys = (keys: ExpectedKey[]): KeyState => {
    if (keys.length === 0) {
      return {
        problem: misconfigured(
          'expected_key_empty',
          `${NAME}: no expected key — ${describeUnsetSource(options.keys, 'keys')}`,
        ),
      }
    }
    if (!allowWeakKeys && process.env.NODE_ENV === 'production') {
      const weak = keys.find((key) => key.length < MIN_PRODUCTION_KEY_LENGTH)
      if (weak) {
        return {
          problem: misconfigured(
            'expected_key_weak',
            `${NAME}: key "${weak.id}" is ${weak.length} characters; under NODE_ENV=production keys must be at least ${MIN_PRODUCTION_KEY_LENGTH} (generate one with \`openssl rand -hex 32\`, or set allowWeakKeys)`,
          ),
        }
      }
    }
    return { keys, digests: keys.map((key) => key.digest) }
  }

  const cache = new ResolverCache<KeyState>({
    load: async () => checkKeys(toExpectedKeys(await resolver())),
    ttl: cacheTtl,
    max: 1,
    // an unset or weak key, or a failing resolver, is remembered for one second only: setting
    // the variable works within it (F1), and a burst of requests costs one resolve, not one each
    keep: (state) => 'keys' in state,
    failureTtl: RETRY_FAILED_RESOLVE_AFTER,
    ...(options.clock ? { clock: options.clock } : {}),
  })

  const unavailable = (cause: unknown) =>
    failure(
      cannotDecide('key_resolver_failed', `${NAME}: the key resolver failed (${foreignErrorName(cause)})`, {
        middleware: NAME,
        cause,
      }),
    )

  const judge = (state: KeyState, digest: Buffer, keyFingerprint: string, cacheState: CacheState) => {
    if ('problem' in state) return failure(state.problem, { keyFingerprint, cache: cacheState })
    const index = findDigest(digest, state.digests)
    if (index < 0) return undefined
    const keyId = state.keys[index]!.id
    return allow({ kind: 'worker', keyId }, 'key_match', { keyFingerprint, keyId, cache: cacheState })
  }

  const decideSlowly = async (digest: Buffer, keyFingerprint: string): Promise<Decision> => {
    try {
      const loaded = await cache.get(CACHE_KEY)
      const first = judge(loaded.value, digest, keyFingerprint, loaded.cache)
      if (first) return first
      // re-resolve once: the key may have been rotated since we cached the list (a list this
      // request just loaded is as fresh as it gets)
      const refreshed = loaded.cache === 'miss' ? undefined : await cache.refresh(CACHE_KEY)
      const second = refreshed && judge(refreshed.value, digest, keyFingerprint, 'refresh')
      if (second) return second
      return deny('invalid_credentials', 'key_mismatch', {
        keyFingerprint,
        cache: refreshed ? 'refresh' : loaded.cache,
      })
    } catch (cause) {
      return unavailable(cause)
    }
  }

  const decide = (input: RequestFacts): Decision | Promise<Decision> => {
    const presented = extractCredential(input.header(header))
    if (!presented.ok) return deny(presented.code, presented.reason)
    const digest = sha256(presented.value)
    const keyFingerprint = fingerprintOfDigest(digest)
    // synchronous fast path: keys cached and the presented one among them
    const cached = cache.peek(CACHE_KEY)
    const fast = cached && judge(cached, digest, keyFingerprint, 'hit')
    if (!fast) return decideSlowly(digest, keyFingerprint)
    cache.countHit()
    return fast
  }

  const present = (input: RequestFacts) => input.header(header) !== undefined
  return expressGuard<WorkerAuth, WorkerKeyStats>(NAME, { decide, present }, options, {
    async ready() {
      let state: KeyState
      try {
        state = (await cache.get(CACHE_KEY)).value
      } catch (cause) {
        throw (unavailable(cause) as { error: KeywardError }).error
      }
      if ('problem' in state) throw state.problem
    },
    invalidate() {
      cache.invalidate()
    },
    stats() {
      return cache.stats()
    },
  })
}

function misconfigured(reason: 'expected_key_empty' | 'expected_key_weak', message: string) {
  return new KeywardError({ code: 'server_misconfigured', reason, message, middleware: NAME })
}

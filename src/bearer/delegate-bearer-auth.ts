import type { BearerAuth, KeywardAuth } from '../core/auth.js'
import { cannotDecide, DEFAULT_RETRY_AFTER } from '../core/cannot-decide.js'
import { allow, type CacheState, type Decision, deny, failure } from '../core/decision.js'
import { KeywardError, type KeywardReason, statusFor } from '../core/errors.js'
import { fingerprintOfDigest, sha256 } from '../core/fingerprint.js'
import { foreignErrorName as errorName, ForeignError } from '../core/foreign-error.js'
import type { BearerStats } from '../core/guard.js'
import { positiveInteger, positiveNumber, refuseUnknownOptions, renamedOption } from '../core/options.js'
import type { KeywardRequest, RequestFacts } from '../core/request.js'
import { expressGuard, type Guard } from '../express/guard.js'
import { type BearerHeader, parseAuthorization } from './authorization-header.js'
import {
  breakerOption,
  type DelegateBearerAuthOptions,
  nonNegative,
  BEARER_OPTION_NAMES as OPTION_NAMES,
} from './options.js'
import { ClientsGone, TokenCache, type Verdict } from './token-cache.js'
import { failedBeforeSending, foreignCause } from './validators/http-failures.js'
import { isOwnValidator } from './validators/own-validator.js'
import { checkVerdict } from './verdict.js'
import { bearerChallenge, realmOption } from './www-authenticate.js'

export type { DelegateBearerAuthOptions, TokenInvalidation } from './options.js'

const NAME = 'delegateBearerAuth'

/**
 * Failures of the service itself: the breaker counts them and `staleIfError` covers them. Any
 * other "cannot decide" (a 4xx about this request, an unreadable answer, our own settings) is
 * a 503 for that request only.
 */
const OUTAGES = new Set<KeywardReason>(['validator_failed', 'validator_timeout'])

/** Why a validation was cut short by the guard's `timeout`. */
class ValidatorTimeout extends Error {
  override readonly name = 'ValidatorTimeout'
}

/**
 * Accepts requests whose `Authorization: Bearer` token the validator accepts, and sets
 * `req.auth = { kind: 'bearer', subject, scopes, claims, expiresAt, keyId }` (`keyId` is the
 * token's fingerprint). Verdicts are cached by the token's SHA-256; concurrent requests with one
 * token share one validation; an unreachable validator is 503, never 401.
 */
export function delegateBearerAuth(
  options: DelegateBearerAuthOptions & { credentialsRequired?: true },
): Guard<BearerAuth, BearerStats>
/** With `credentialsRequired: false`, a request without a bearer token passes with no `req.auth`. */
export function delegateBearerAuth(
  options: DelegateBearerAuthOptions,
): Guard<BearerAuth | undefined, BearerStats>
export function delegateBearerAuth(
  options: DelegateBearerAuthOptions,
): Guard<BearerAuth | undefined, BearerStats> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${NAME}: pass an options object such as { validator: httpValidator({ url }) }`)
  }
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const validator = options.validator
  if (typeof validator !== 'function') {
    throw new TypeError(
      `${NAME}: "validator" must be a function (token, { req, signal }) => Promise<TokenResult>, e.g. httpValidator({ url }); got ${typeof validator}`,
    )
  }
  if (options.credentialsRequired !== undefined && typeof options.credentialsRequired !== 'boolean') {
    throw new TypeError(`${NAME}: "credentialsRequired" must be a boolean`)
  }
  const credentialsRequired = options.credentialsRequired !== false
  const own = isOwnValidator(validator)
  const realm = realmOption(options.realm ?? 'api', NAME)
  const clock = options.clock ?? performance
  const timeout = positiveNumber(options.timeout ?? 5000, 'timeout', NAME)
  const breaker = breakerOption(options.circuitBreaker, clock)
  const cacheBy = options.cacheBy ?? 'validator'
  if (cacheBy !== 'validator' && cacheBy !== 'token') {
    throw new TypeError(
      `${NAME}: "cacheBy" must be 'validator' (token and what the validator sends) or 'token'; got ${JSON.stringify(cacheBy)}`,
    )
  }
  const requestKey =
    cacheBy === 'validator' && typeof validator.cacheKey === 'function'
      ? validator.cacheKey.bind(validator)
      : undefined
  const cache = new TokenCache({
    max: positiveInteger(options.cacheSize ?? 10_000, 'cacheSize', NAME),
    negativeMax: positiveInteger(options.negativeCacheSize ?? 1000, 'negativeCacheSize', NAME),
    ttl: nonNegative(options.cacheTtl ?? 60_000, 'cacheTtl'),
    negativeTtl: nonNegative(
      renamedOption<number>(
        options as unknown as Record<string, unknown>,
        'negativeTtl',
        'negativeCacheTtl',
        NAME,
      ) ?? 5000,
      'negativeTtl',
    ),
    staleIfError: nonNegative(options.staleIfError ?? 0, 'staleIfError'),
    clock,
  })
  if (options.invalidation !== undefined) {
    if (typeof options.invalidation?.subscribe !== 'function') {
      throw new TypeError(`${NAME}: "invalidation" must have subscribe(listener) => unsubscribe`)
    }
    options.invalidation.subscribe((id) => cache.invalidate(id === '' ? undefined : id))
  }

  const counters = { validations: 0, failures: 0, circuitRejections: 0 }
  const challenge = (error?: 'invalid_request' | 'invalid_token') => ({
    'WWW-Authenticate': bearerChallenge(realm, error),
  })

  const judge = (verdict: Verdict, keyFingerprint: string, state: CacheState): Decision => {
    if (!verdict.active) {
      return deny('invalid_token', verdict.reason, {
        keyFingerprint,
        keyId: keyFingerprint,
        cache: state,
        headers: challenge('invalid_token'),
      })
    }
    // a fresh object per request: the application may change its req.auth
    const auth: KeywardAuth = {
      kind: 'bearer',
      keyId: keyFingerprint,
      scopes: [...verdict.scopes],
      claims: { ...verdict.claims },
    }
    if (verdict.subject !== undefined) auth.subject = verdict.subject
    if (verdict.expiresAt !== undefined) auth.expiresAt = verdict.expiresAt
    const reason: KeywardReason = state === 'stale' ? 'stale_if_error' : 'token_active'
    return allow(auth, reason, { keyFingerprint, keyId: keyFingerprint, cache: state })
  }

  const callValidator = async (
    token: string,
    digest: string,
    req: KeywardRequest,
    shared: AbortSignal,
  ): Promise<Verdict> => {
    const admission = breaker?.admit() ?? { admitted: true as const, probe: false }
    if (!admission.admitted) {
      counters.circuitRejections++
      throw circuitOpen(admission.retryAfterMs)
    }
    counters.validations++
    const controller = new AbortController()
    const forward = () => controller.abort(shared.reason)
    shared.addEventListener('abort', forward, { once: true })
    const timer = setTimeout(() => controller.abort(new ValidatorTimeout()), timeout)
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })
    })
    try {
      // race: a validator that ignores its signal must not hold the request past the timeout
      const result = await Promise.race([validator(token, { req, signal: controller.signal }), aborted])
      const verdict = checkVerdict(result, token)
      breaker?.success()
      if (verdict.active) cache.noteAccepted(digest)
      return verdict
    } catch (cause) {
      const error = validatorFailure(cause, controller.signal, own)
      counters.failures++
      if (controller.signal.reason instanceof ClientsGone || !OUTAGES.has(error.reason)) {
        breaker?.abandon(admission.probe)
      } else {
        const corroborated = cache.wasAccepted(digest) || failedBeforeSending(error)
        breaker?.failure({ token: digest, corroborated }, admission.probe)
      }
      throw error
    } finally {
      clearTimeout(timer)
      shared.removeEventListener('abort', forward)
    }
  }

  const decideSlowly = async (
    req: KeywardRequest,
    token: string,
    digest: string,
    key: string,
    keyFingerprint: string,
    stale: Verdict | undefined,
  ): Promise<Decision> => {
    const gone = clientGone(req)
    try {
      const { verdict, coalesced } = await cache.load(
        key,
        keyFingerprint,
        (shared) => callValidator(token, digest, req, shared),
        gone.signal,
      )
      return judge(verdict, keyFingerprint, stale !== undefined && !coalesced ? 'refresh' : 'miss')
    } catch (cause) {
      const error = KeywardError.is(cause) ? cause : validatorFailure(cause, undefined, own)
      // only an outage of the service itself: a 4xx or an unreadable answer may be about this
      // very token, whose holder must not get its old "yes" back by provoking one
      if (stale !== undefined && (OUTAGES.has(error.reason) || error.reason === 'circuit_open')) {
        cache.counters.stale++
        return judge(stale, keyFingerprint, 'stale')
      }
      return failure(error, {
        keyFingerprint,
        keyId: keyFingerprint,
        cache: stale === undefined ? 'miss' : 'refresh',
      })
    } finally {
      gone.dispose()
    }
  }

  const decide = (input: RequestFacts): Decision | Promise<Decision> => {
    const raw = input.header('authorization')
    const header = parseAuthorization(raw)
    if (!header.ok) {
      // optional authentication: no header, or credentials of another scheme (RFC 6750 §3.1: not
      // a bearer request at all), is passed on as it is, so another guard (Basic) can take it
      if (!credentialsRequired && (raw === undefined || header.reason === 'other_scheme')) {
        return allow(undefined, raw === undefined ? 'no_header' : 'other_scheme')
      }
      const headers = header.code === 'missing_credentials' ? challenge() : challenge('invalid_request')
      return deny(header.code, header.reason, { headers, status: statusFor(header.code, 'bearer') })
    }
    const sha = sha256(header.token)
    const digest = sha.toString('hex')
    // NUL cannot occur in a token or a header value, so no two (token, request key) pairs meet
    const key = requestKey === undefined ? digest : `${digest}\u0000${requestKey(input.req)}`
    const keyFingerprint = fingerprintOfDigest(sha)
    const found = cache.lookup(key)
    if (found?.fresh) {
      cache.counters.hits++
      return judge(found.cached.verdict, keyFingerprint, 'hit')
    }
    if (found) cache.counters.refreshes++
    else cache.counters.misses++
    return decideSlowly(input.req, header.token, digest, key, keyFingerprint, found?.cached.verdict)
  }

  const present = (input: RequestFacts) => bearerPresent(parseAuthorization(input.header('authorization')))
  const core = { decide, present, challenge: challenge(), optional: !credentialsRequired }
  return expressGuard<BearerAuth | undefined, BearerStats>(NAME, core, options, {
    async ready() {
      if (typeof validator.ready !== 'function') return
      try {
        await validator.ready()
      } catch (cause) {
        throw validatorFailure(cause, undefined, own)
      }
    },
    invalidate(id?: string) {
      cache.invalidate(id)
    },
    stats() {
      return {
        ...cache.counters,
        ...counters,
        size: cache.size,
        circuitOpen: breaker?.state === 'open' ? 1 : 0,
        circuitOpens: breaker?.openCount ?? 0,
      }
    },
  })
}

/**
 * Whether a request carries a bearer credential, well-formed or not: no header, an empty one and
 * another scheme (`Basic …`) carry none; anything else is the bearer guard's to decide, so a
 * malformed bearer header is refused rather than taken as absent.
 */
function bearerPresent(header: BearerHeader): boolean {
  if (header.ok) return true
  return header.reason !== 'no_header' && header.reason !== 'header_empty' && header.reason !== 'other_scheme'
}

/** Any way of not deciding, as a KeywardError: 500 for our own misconfiguration, else 503. */
function validatorFailure(cause: unknown, signal: AbortSignal | undefined, own: boolean): KeywardError {
  const reason = signal?.aborted ? signal.reason : cause
  if (reason instanceof ValidatorTimeout) {
    return cannotDecide('validator_timeout', `${NAME}: the validator did not decide within the timeout`, {
      middleware: NAME,
    })
  }
  if (
    KeywardError.is(cause) &&
    (cause.code === 'server_misconfigured' || cause.code === 'auth_unavailable')
  ) {
    const retryMissing = cause.code === 'auth_unavailable' && cause.headers['Retry-After'] === undefined
    if (retryMissing || !own) {
      return new KeywardError({
        code: cause.code,
        reason: cause.reason,
        headers: retryMissing
          ? { ...cause.headers, 'Retry-After': DEFAULT_RETRY_AFTER }
          : { ...cause.headers },
        // a custom validator's KeywardError is foreign too: its message may quote the token
        message: `${NAME}: the validator could not decide (${cause.reason})`,
        middleware: NAME,
      })
    }
    return cause
  }
  // a custom validator's message might quote the token: keep only the error's class and code
  return cannotDecide('validator_failed', `${NAME}: the validator threw (${errorName(reason)})`, {
    middleware: NAME,
    cause: KeywardError.is(reason) && !own ? new ForeignError(reason) : foreignCause(reason),
  })
}

function circuitOpen(retryAfterMs: number): KeywardError {
  return cannotDecide(
    'circuit_open',
    `${NAME}: the validator failed repeatedly; not calling it for another ${Math.ceil(retryAfterMs)} ms`,
    { middleware: NAME, retryAfter: String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  )
}

/** A signal aborted when the request's connection closes before it is answered. */
function clientGone(req: KeywardRequest): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  // a plain request has no connection to watch: its check is never cut short for the client
  const socket = (req as { socket?: NodeJS.EventEmitter }).socket
  if (typeof socket?.once !== 'function') return { signal: controller.signal, dispose: () => {} }
  const onClose = () => controller.abort()
  socket.once('close', onClose)
  return { signal: controller.signal, dispose: () => socket.off('close', onClose) }
}

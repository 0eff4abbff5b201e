import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock } from '../core/clock.js'
import { type KeywardCode, KeywardError, type KeywardReason } from '../core/errors.js'
import { optionNames, positiveNumber, refuseUnknownOptions } from '../core/options.js'

const NAME = 'healthCheck'

/** Anything with a `ready()`: every keyward guard, and the `pgInvalidation` / `redisInvalidation` buses. */
export interface Readiness {
  ready(): Promise<void>
}

/** Options of {@link healthCheck}, passed as its first argument. */
export interface HealthCheckOptions {
  /**
   * How long each `ready()` may take before its check counts as failed, ms. Default 2 000: below
   * the usual 5 s probe timeout of load balancers and Kubernetes, so the probe gets an answer
   * that names the slow dependency instead of timing out itself.
   */
  timeout?: number
  /**
   * A name per check, in argument order, for the `checks` list. Default: the guard's
   * `middleware` name (`verifyWidgetKey`), a bus's `name` (`pgInvalidation`), else `check-1`, ….
   */
  names?: readonly string[]
  /**
   * How long an answer is reused for the next probes, ms. Default 1 000: every `ready()` reaches
   * a dependency (a store read, a JWKS or discovery fetch, a validator call), so a client that
   * probes in a loop must not turn into that many upstream calls; one second is short against
   * any load balancer's probe interval.
   */
  cacheTtl?: number
  /** Clock for the answer's age, ms; for tests. Default `performance`. */
  clock?: Clock
}

const OPTION_NAMES = optionNames<HealthCheckOptions>()('timeout', 'names', 'cacheTtl', 'clock')

/** Why a check failed when its `ready()` did not say: it timed out, or rejected with a non-keyward error. */
export type HealthCheckReason = KeywardReason | 'ready_timeout' | 'ready_failed'

/** One check in a health answer. Client-safe: codes and reasons, never an error message. */
export interface HealthCheckResult {
  name: string
  status: 'ok' | 'unavailable'
  /** How long `ready()` took, ms (the timeout when it did not settle). */
  durationMs: number
  /** The middleware that failed, from its `KeywardError`. */
  middleware?: string
  /** The public code of the failure (`server_misconfigured`, `auth_unavailable`). */
  code?: KeywardCode
  /** What went wrong, for the operator: a `KeywardReason`, `ready_timeout` or `ready_failed`. */
  reason?: HealthCheckReason
  /** The class name of a non-keyward error (`Error`, `TypeError`); its message may hold a secret. */
  error?: string
}

/** The JSON body of a health answer: 200 with `ok`, 503 with `unavailable`. */
export interface HealthCheckBody {
  status: 'ok' | 'unavailable'
  checks: HealthCheckResult[]
}

/** The handler {@link healthCheck} returns: mount it on a GET route of Express 4 or 5. */
export type HealthCheckHandler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * An Express handler for readiness probes: it calls `ready()` on every guard (and any bus) and
 * answers 200 `{ status: 'ok', checks }` when all resolve within `timeout`, else 503
 * `{ status: 'unavailable', checks }` naming each one that failed with its middleware, `code`
 * and `reason`. Error messages are never sent, as a driver's message can contain a connection
 * string; only `KeywardError`'s code and reason, or an error's class name.
 *
 * Concurrent probes share one run, and an answer is reused for `cacheTtl` (1 s), so however
 * often a client probes, each dependency is checked at most once a second.
 *
 * @example
 * ```ts
 * app.get('/health', healthCheck(widgetGuard, workerGuard))
 * app.get('/ready', healthCheck({ timeout: 1_000, names: ['widget', 'bus'] }, widgetGuard, bus))
 * ```
 * @throws TypeError when an argument is not a guard or an option is invalid.
 */
export function healthCheck(options: HealthCheckOptions, ...guards: Readiness[]): HealthCheckHandler
export function healthCheck(...guards: Readiness[]): HealthCheckHandler
export function healthCheck(...args: Array<HealthCheckOptions | Readiness>): HealthCheckHandler {
  const first = args[0]
  const hasOptions =
    typeof first === 'object' && first !== null && typeof (first as Readiness).ready !== 'function'
  const options: HealthCheckOptions = hasOptions ? (first as HealthCheckOptions) : {}
  const guards = (hasOptions ? args.slice(1) : args) as Readiness[]
  refuseUnknownOptions(options, OPTION_NAMES, NAME)
  const timeout = positiveNumber(options.timeout ?? 2_000, 'timeout', NAME)
  const cacheTtl = positiveNumber(options.cacheTtl ?? 1_000, 'cacheTtl', NAME)
  const clock = options.clock ?? performance
  if (guards.length === 0) {
    throw new TypeError(
      `${NAME}: pass at least one guard, e.g. healthCheck(widgetGuard) or healthCheck({ timeout }, widgetGuard)`,
    )
  }
  guards.forEach((guard, index) => {
    if (
      (typeof guard !== 'function' && typeof guard !== 'object') ||
      guard === null ||
      typeof guard.ready !== 'function'
    ) {
      throw new TypeError(
        `${NAME}: argument ${index + 1 + (hasOptions ? 1 : 0)} must be a keyward guard or bus (something with ready()); got ${guard === null ? 'null' : typeof guard}`,
      )
    }
  })
  const names = checkNames(options.names, guards)

  const runOne = async (guard: Readiness, name: string): Promise<HealthCheckResult> => {
    const startedAt = performance.now()
    const elapsed = () => Math.round((performance.now() - startedAt) * 1000) / 1000
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeout)
    })
    try {
      const outcome = await Promise.race([Promise.resolve().then(() => guard.ready()), timedOut])
      if (outcome === 'timeout')
        return { name, status: 'unavailable', durationMs: elapsed(), reason: 'ready_timeout' }
      return { name, status: 'ok', durationMs: elapsed() }
    } catch (error) {
      return { name, status: 'unavailable', durationMs: elapsed(), ...describeFailure(error) }
    } finally {
      clearTimeout(timer)
    }
  }

  let running: Promise<HealthCheckBody> | undefined
  let last: { body: HealthCheckBody; at: number } | undefined
  const runAll = () => {
    if (last !== undefined && clock.now() - last.at < cacheTtl) return Promise.resolve(last.body)
    running ??= Promise.all(guards.map((guard, index) => runOne(guard, names[index]!)))
      .then(
        (checks): HealthCheckBody => ({
          status: checks.every((check) => check.status === 'ok') ? 'ok' : 'unavailable',
          checks,
        }),
      )
      .then((body) => {
        last = { body, at: clock.now() }
        return body
      })
      .finally(() => {
        running = undefined
      })
    return running
  }

  return (_req, res) => {
    void runAll().then((body) => {
      if (res.headersSent) return
      const text = JSON.stringify(body)
      res.statusCode = body.status === 'ok' ? 200 : 503
      // a cached "ok" would hide an outage from the next probe
      res.setHeader('Cache-Control', 'no-store')
      res.setHeader('Content-Type', 'application/json; charset=utf-8')
      res.setHeader('Content-Length', Buffer.byteLength(text))
      res.end(text)
    })
  }
}

function checkNames(names: readonly string[] | undefined, guards: readonly Readiness[]): string[] {
  if (names !== undefined) {
    if (
      !Array.isArray(names) ||
      names.length !== guards.length ||
      !names.every((n) => typeof n === 'string' && n !== '')
    ) {
      throw new TypeError(
        `${NAME}: "names" must be an array of ${guards.length} non-empty strings, one per guard`,
      )
    }
    return [...names]
  }
  // a guard says what it is by `middleware`, a bus by `name` (a function's `name` is its own)
  return guards.map((guard, index) => {
    const middleware = (guard as { middleware?: unknown }).middleware
    if (typeof middleware === 'string' && middleware !== '') return middleware
    const name = typeof guard === 'object' ? (guard as { name?: unknown }).name : undefined
    return typeof name === 'string' && name !== '' ? name : `check-${index + 1}`
  })
}

/** What a failed `ready()` may tell a client: a KeywardError's code and reason, else the error's class. */
function describeFailure(error: unknown): Partial<HealthCheckResult> {
  if (KeywardError.is(error)) {
    const failure: Partial<HealthCheckResult> = { code: error.code, reason: error.reason }
    if (error.middleware !== undefined) failure.middleware = error.middleware
    return failure
  }
  return { reason: 'ready_failed', error: error instanceof Error ? error.name : typeof error }
}

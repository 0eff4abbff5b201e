import type { ServerResponse } from 'node:http'
import { ANY_OF, type ComposedDecision, composableCores, composeAnyOf } from '../core/any-of.js'
import type { KeywardAuth } from '../core/auth.js'
import { publishDecision } from '../core/events.js'
import type { GuardControls, GuardOptions, GuardStats } from '../core/guard.js'
import {
  type AuthenticateResult,
  GUARD_CORE,
  guardCore,
  isPromise,
  unexpectedFailure,
} from '../core/guard-core.js'
import { checkGuardOptions, GUARD_OPTION_NAMES, refuseUnknownOptions } from '../core/options.js'
import { type KeywardRequest, type RequestFacts, requestFacts } from '../core/request.js'
import { answer, type Guard, type GuardHandler } from './guard.js'

/**
 * Options of {@link anyOf}, passed as its first argument. The inner guards' own `onError` does
 * not apply inside it: the composition answers.
 */
export type AnyOfOptions = GuardOptions

/** The guard {@link anyOf} returns. `A` is the union of its guards' `req.auth`. */
export type AnyOfGuard<A extends KeywardAuth = KeywardAuth> = GuardHandler &
  Omit<GuardControls, 'stats'> & {
    readonly middleware: 'anyOf'
    /** Each guard's `stats()`, in the order the guards were given (two guards may share a name). */
    stats(): GuardStats[]
    /** As a guard's `authenticate()`: the decision of the guard whose credential is present. */
    authenticate(req: KeywardRequest): Promise<AuthenticateResult<A>>
  }

/** What `req.auth` is after one of `G` accepted. */
export type AuthOf<G> = G extends Guard<infer A> ? Exclude<A, undefined> : never

type Next = (err?: unknown) => void

/**
 * A guard that accepts what any one of `guards` accepts, e.g. an internal route open to
 * services with a worker key and to users with a bearer token. The guards whose credential is
 * present (a worker or widget key header with any value; an `Authorization` header of the
 * Bearer scheme) are tried in order, and the first one decides: a present credential that fails
 * is the answer, never a fall-through to the next guard — so a revoked token sent beside a
 * wrong key is refused, and so is a bad credential for one guard beside a good one for another.
 * No credential present: 401 `missing_credentials` with every guard's challenge (bearer
 * guards' `WWW-Authenticate`, comma-joined). `req.auth` comes from the guard that accepted, and
 * each request makes one decision event, named after that guard, with `detail.via: 'anyOf'`
 * (delivered to that guard's `onDecision`/`logger` and to these options'; with no credential
 * present, it is named `anyOf`, reason `no_credentials`).
 *
 * A real CORS preflight is answered as the first widget guard among `guards` answers it
 * (its `preflight` option), so no unkeyed preflight reaches the handler.
 *
 * @example app.use('/internal', anyOf(requireWorkerKey({ keys: fromEnv('WORKER_KEY') }), bearer))
 */
export function anyOf<const G extends readonly Guard[]>(...guards: G): AnyOfGuard<AuthOf<G[number]>>
/** The same, with options for the composition: `anyOf({ onDecision }, workerGuard, bearerGuard)`. */
export function anyOf<const G extends readonly Guard[]>(
  options: AnyOfOptions,
  ...guards: G
): AnyOfGuard<AuthOf<G[number]>>
export function anyOf(...args: unknown[]): AnyOfGuard {
  const withOptions = typeof args[0] === 'object' && args[0] !== null && guardCore(args[0]) === undefined
  const options = (withOptions ? args[0] : {}) as AnyOfOptions
  if (withOptions) refuseUnknownOptions(options, GUARD_OPTION_NAMES, ANY_OF)
  checkGuardOptions(options as Record<string, unknown>, ANY_OF)
  const guards = (withOptions ? args.slice(1) : args) as Guard[]
  const cores = composableCores(guards, ANY_OF, withOptions ? 1 : 0)
  const decide = composeAnyOf(cores)
  const preflight = cores.find((core) => core.answerBefore !== undefined)
  const passErrors = options.onError === 'next'

  const unexpected = (cause: unknown): ComposedDecision => ({
    decision: unexpectedFailure(ANY_OF, cause),
    by: undefined,
  })
  const run = (input: RequestFacts): ComposedDecision | Promise<ComposedDecision> => {
    try {
      const composed = decide(input)
      return isPromise(composed) ? composed.then(undefined, unexpected) : composed
    } catch (cause) {
      return unexpected(cause)
    }
  }
  const publish = ({ decision, by }: ComposedDecision, startedAt: number) => {
    if (by === undefined) publishDecision(ANY_OF, decision, startedAt, options)
    else publishDecision(by.middleware, decision, startedAt, by.observers, options)
  }

  const handler: GuardHandler = (req, res: ServerResponse, next: Next) => {
    const startedAt = performance.now()
    const input = requestFacts(req)
    if (preflight?.answerBefore?.(input, res, next)) return
    const finish = (composed: ComposedDecision) => {
      publish(composed, startedAt)
      answer(composed.decision, req, res, next, passErrors)
    }
    const composed = run(input)
    if (isPromise(composed)) composed.then(finish)
    else finish(composed)
  }

  const controls = {
    middleware: ANY_OF,
    async ready() {
      await Promise.all(guards.map((guard) => guard.ready()))
    },
    invalidate(id?: string) {
      for (const guard of guards) guard.invalidate(id)
    },
    stats: () => guards.map((guard) => guard.stats()),
    async authenticate(req: KeywardRequest): Promise<AuthenticateResult<KeywardAuth>> {
      const startedAt = performance.now()
      const composed =
        typeof req === 'object' && req !== null
          ? await run(requestFacts(req))
          : unexpected(new TypeError('authenticate(req) needs a request object'))
      publish(composed, startedAt)
      const { decision } = composed
      return decision.outcome === 'allow'
        ? { ok: true, auth: decision.auth as KeywardAuth }
        : { ok: false, error: decision.error }
    },
  } as const
  // marks it as a keyward guard, so that nesting it in another anyOf is refused by name
  Object.defineProperty(handler, GUARD_CORE, {
    value: { middleware: ANY_OF, decide: () => unexpectedFailure(ANY_OF, undefined), observers: options },
  })
  return Object.assign(handler, controls)
}

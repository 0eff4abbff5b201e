import type { IncomingMessage, ServerResponse } from 'node:http'
import type { KeywardAuth } from '../core/auth.js'
import type { Decision } from '../core/decision.js'
import { publishDecision } from '../core/events.js'
import type { GuardControls, GuardOptions, GuardStats } from '../core/guard.js'
import {
  type AuthenticateResult,
  authenticator,
  decideSafely,
  GUARD_CORE,
  type GuardCore,
  isPromise,
} from '../core/guard-core.js'
import { checkGuardOptions } from '../core/options.js'
import { type KeywardRequest, requestFacts } from '../core/request.js'
import { sendProblem } from './problem.js'
import './augment.js'

/** The request shape guards read: Node's, which Express 4 and 5 both extend. */
export type GuardRequest = IncomingMessage & { auth?: KeywardAuth }

type Next = (err?: unknown) => void

/** The Express middleware part of a guard. */
export type GuardHandler = (req: GuardRequest, res: ServerResponse, next: Next) => void

/**
 * An Express middleware with keyward's controls. `A` is what `req.auth` is set to on success
 * (and what `authenticate()` resolves with).
 */
export type Guard<
  A extends KeywardAuth | undefined = KeywardAuth | undefined,
  S extends GuardStats = GuardStats,
> = GuardHandler &
  GuardControls<S> & {
    /** The guard's name, e.g. `'verifyWidgetKey'`, as in its decision events. */
    readonly middleware: string
    /**
     * The middleware's decision for a request outside Express: a WebSocket `upgrade` request,
     * plain `node:http`, another framework (`{ method, headers, url?, ip? }`). Same caches and
     * decision events as the middleware; never rejects, never answers, sets nothing on `req`.
     * Middleware-only steps are skipped: a widget guard decides on the key even for a CORS
     * preflight.
     */
    authenticate(req: KeywardRequest): Promise<AuthenticateResult<A>>
  }

/** The parts of a guard the adapter needs: its core, minus what the adapter fills in. */
export type GuardCoreInit = Omit<GuardCore, 'observers' | 'middleware'>

/**
 * Turns a guard's core into an Express middleware: it runs the decision, publishes it, sets
 * `req.auth` on allow, and answers (or `next(err)`s) the rest; and gives it `authenticate()`.
 */
export function expressGuard<A extends KeywardAuth | undefined, S extends GuardStats>(
  middleware: string,
  init: GuardCoreInit,
  options: GuardOptions,
  controls: GuardControls<S>,
): Guard<A, S> {
  checkGuardOptions(options as Record<string, unknown>, middleware)
  const core: GuardCore = { ...init, middleware, observers: options }
  const passErrors = options.onError === 'next'
  const decide = init.decide

  const finish = (
    decision: Decision,
    req: GuardRequest,
    res: ServerResponse,
    next: Next,
    startedAt: number,
  ) => {
    publishDecision(middleware, decision, startedAt, options)
    answer(decision, req, res, next, passErrors)
  }

  const handler: GuardHandler = (req, res, next) => {
    const startedAt = performance.now()
    const input = requestFacts(req)
    if (init.answerBefore?.(input, res, next)) return
    const result = decideSafely(middleware, decide, input)
    if (isPromise(result)) result.then((decision) => finish(decision, req, res, next, startedAt))
    else finish(result, req, res, next, startedAt)
  }
  Object.defineProperty(handler, GUARD_CORE, { value: core })
  return Object.assign(handler, controls, {
    middleware,
    authenticate: authenticator<A>(middleware, decide, options),
  })
}

/** Sets `req.auth` and goes on, or answers the refusal (or hands it to `next`). */
export function answer(
  decision: Decision,
  req: GuardRequest,
  res: ServerResponse,
  next: Next,
  passErrors: boolean,
): void {
  if (decision.outcome === 'allow') {
    if (decision.auth !== undefined) req.auth = decision.auth
    next()
    return
  }
  if (passErrors) next(decision.error)
  else sendProblem(res, decision.error)
}

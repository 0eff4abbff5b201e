import type { IncomingMessage, ServerResponse } from 'node:http'
import type { KeywardAuth } from '../core/auth.js'
import type { HeaderValue } from '../core/credentials.js'
import { type Decision, failure } from '../core/decision.js'
import { KeywardError } from '../core/errors.js'
import { publishDecision } from '../core/events.js'
import type { GuardControls, GuardOptions } from '../core/guard.js'
import { checkGuardOptions } from '../core/options.js'
import { sendProblem } from './problem.js'
import './augment.js'

/** The request shape guards read: Node's, which Express 4 and 5 both extend. */
export type GuardRequest = IncomingMessage & { auth?: KeywardAuth }

type Next = (err?: unknown) => void

/** An Express middleware with keyward's controls. */
export type Guard = ((req: GuardRequest, res: ServerResponse, next: Next) => void) &
  GuardControls & {
    /** The guard's name, e.g. `'verifyWidgetKey'`, as in its decision events. */
    readonly middleware: string
  }

/**
 * A header as sent, repeated headers included: Node folds duplicates of some headers into one
 * string and drops duplicates of others (Authorization), so read the raw header list. `name`
 * must be lower-case. A scan of the raw list is cheaper than `headersDistinct`, which builds a
 * map of every header.
 */
export function requestHeader(req: IncomingMessage, name: string): HeaderValue {
  const raw = req.rawHeaders
  // a hand-made request (a unit test's mock) may have only `headers`
  if (!Array.isArray(raw)) return req.headers?.[name]
  let first: string | undefined
  let all: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i]!
    if (field.length !== name.length || field.toLowerCase() !== name) continue
    const value = raw[i + 1]!
    if (first === undefined) first = value
    else if (all === undefined) all = [first, value]
    else all.push(value)
  }
  return all ?? first
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function'
}

/**
 * Turns a core decision function into an Express middleware: it runs the decision, publishes
 * it, sets `req.auth` on allow, and answers (or `next(err)`s) the rest.
 */
export function expressGuard(
  middleware: string,
  decide: (req: GuardRequest) => Decision | Promise<Decision>,
  options: GuardOptions,
  controls: GuardControls,
): Guard {
  checkGuardOptions(options as Record<string, unknown>, middleware)
  const passErrors = options.onError === 'next'

  const finish = (
    decision: Decision,
    req: GuardRequest,
    res: ServerResponse,
    next: Next,
    startedAt: number,
  ) => {
    publishDecision(middleware, decision, startedAt, options)
    if (decision.outcome === 'allow') {
      if (decision.auth !== undefined) req.auth = decision.auth
      next()
      return
    }
    if (passErrors) next(decision.error)
    else sendProblem(res, decision.error)
  }

  const unexpected = (cause: unknown) =>
    failure(
      new KeywardError({
        code: 'auth_unavailable',
        reason: 'internal_error',
        headers: { 'Retry-After': '1' },
        message: `${middleware}: unexpected failure while deciding (${cause instanceof Error ? cause.name : typeof cause})`,
        middleware,
        cause,
      }),
    )

  const handler = (req: GuardRequest, res: ServerResponse, next: Next) => {
    const startedAt = performance.now()
    let result: Decision | Promise<Decision>
    try {
      result = decide(req)
    } catch (cause) {
      result = unexpected(cause)
    }
    if (isPromise(result)) {
      result.then(
        (decision) => finish(decision, req, res, next, startedAt),
        (cause) => finish(unexpected(cause), req, res, next, startedAt),
      )
    } else {
      finish(result, req, res, next, startedAt)
    }
  }
  return Object.assign(handler, controls, { middleware })
}

import type { ServerResponse } from 'node:http'
import type { KeywardAuth } from './auth.js'
import { cannotDecide } from './cannot-decide.js'
import { type Decision, failure } from './decision.js'
import type { KeywardError } from './errors.js'
import { type ObservabilityOptions, publishDecision } from './events.js'
import { foreignErrorName } from './foreign-error.js'
import { type KeywardRequest, type RequestFacts, requestFacts } from './request.js'

/** What `authenticate()` resolves with: the caller's auth, or the refusal a middleware would answer. */
export type AuthenticateResult<A = KeywardAuth | undefined> =
  | { ok: true; auth: A }
  | { ok: false; error: KeywardError }

/**
 * Where a guard's framework-free parts hang on its middleware: `anyOf` and `authenticate()` use
 * them. Registered (`Symbol.for`), so a guard made by a second copy of the package (ESM and CJS
 * side by side) still composes.
 */
export const GUARD_CORE: unique symbol = Symbol.for('keyward.guardCore.v1') as never

type Next = (err?: unknown) => void

/** A guard without its adapter: what it decides, and what it needs to know to compose. */
export interface GuardCore {
  /** The guard's name, as in its decision events. */
  readonly middleware: string
  /** The decision for a request, unpublished. May throw or reject: {@link decideSafely} turns that into a 503. */
  decide(input: RequestFacts): Decision | Promise<Decision>
  /**
   * Whether the request carries this guard's credential at all, well-formed or not. Absent for
   * a guard that has no credential of its own (`requireScopes`), which cannot be composed.
   */
  present?(input: RequestFacts): boolean
  /** The headers an answer without this guard's credential carries (a bearer challenge). */
  readonly challenge?: Readonly<Record<string, string>>
  /** True when a request without the credential is let on anonymously (`credentialsRequired: false`). */
  readonly optional?: boolean
  /**
   * Middleware only: answers a request that must not be decided at all (a real CORS preflight)
   * and returns true, or returns false to have it decided.
   */
  answerBefore?(input: RequestFacts, res: ServerResponse, next: Next): boolean
  /** Who is told about its decisions. */
  readonly observers: ObservabilityOptions
}

/** The guard's core, when `value` is a keyward guard. */
export function guardCore(value: unknown): GuardCore | undefined {
  if (typeof value !== 'function') return undefined
  const core = (value as unknown as { [GUARD_CORE]?: GuardCore })[GUARD_CORE]
  return typeof core === 'object' && core !== null && typeof core.decide === 'function' ? core : undefined
}

/** True for a promise (or any thenable) rather than a settled value. */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function'
}

/** "Cannot decide" for a decision that threw: a bug or a broken callback is a 503, never an allow. */
export function unexpectedFailure(middleware: string, cause: unknown): Decision {
  return failure(
    cannotDecide(
      'internal_error',
      `${middleware}: unexpected failure while deciding (${foreignErrorName(cause)})`,
      {
        middleware,
        cause,
      },
    ),
  )
}

/** Runs a decision; a throw or a rejection becomes a 503. Stays synchronous when the decision is. */
export function decideSafely(
  middleware: string,
  decide: (input: RequestFacts) => Decision | Promise<Decision>,
  input: RequestFacts,
): Decision | Promise<Decision> {
  let result: Decision | Promise<Decision>
  try {
    result = decide(input)
  } catch (cause) {
    return unexpectedFailure(middleware, cause)
  }
  return isPromise(result) ? result.then(undefined, (cause) => unexpectedFailure(middleware, cause)) : result
}

/**
 * `authenticate(req)` of a guard: the middleware's decision, published the same way, for a
 * request that is not going through Express. Never rejects, touches no response, sets nothing
 * on `req`.
 */
export function authenticator<A>(
  middleware: string,
  decide: (input: RequestFacts) => Decision | Promise<Decision>,
  observers: ObservabilityOptions,
): (req: KeywardRequest) => Promise<AuthenticateResult<A>> {
  return async (req) => {
    const startedAt = performance.now()
    let decision: Decision
    if (typeof req !== 'object' || req === null) {
      decision = unexpectedFailure(middleware, new TypeError('authenticate(req) needs a request object'))
    } else {
      decision = await decideSafely(middleware, decide, requestFacts(req))
    }
    publishDecision(middleware, decision, startedAt, observers)
    return decision.outcome === 'allow'
      ? { ok: true, auth: decision.auth as A }
      : { ok: false, error: decision.error }
  }
}

import { type Decision, deny } from './decision.js'
import { decideSafely, type GuardCore, guardCore, isPromise } from './guard-core.js'
import type { RequestFacts } from './request.js'

/** The name `anyOf` decides under when no guard's credential is present. */
export const ANY_OF = 'anyOf'

/** A decision of a composition, with the guard that made it (none: no credential was present). */
export interface ComposedDecision {
  decision: Decision
  by: GuardCore | undefined
}

/**
 * The framework-free part of `anyOf`: the first guard whose credential is present decides, and
 * its answer is final — a present credential that fails is never retried as another guard's, or
 * a revoked token could be replayed next to something weaker. No credential present: 401
 * `missing_credentials` with every guard's challenge.
 */
export function composeAnyOf(cores: readonly GuardCore[]) {
  const names = cores.map((core) => core.middleware).join(',')
  const challenges = mergeChallenges(cores)
  const missing = (): Decision =>
    deny('missing_credentials', 'no_credentials', {
      headers: challenges,
      detail: { via: ANY_OF, guards: names },
    })

  return (input: RequestFacts): ComposedDecision | Promise<ComposedDecision> => {
    const by = cores.find((core) => core.present!(input))
    if (by === undefined) return { decision: missing(), by }
    const result = decideSafely(by.middleware, by.decide, input)
    return isPromise(result)
      ? result.then((decision) => ({ decision: via(decision), by }))
      : { decision: via(result), by }
  }
}

/** The decision, marked as made inside `anyOf` (a copy: decisions are the deciding guard's). */
function via(decision: Decision): Decision {
  return { ...decision, detail: { ...decision.detail, via: ANY_OF } }
}

/**
 * One header per name: RFC 9110 §11.6.1 lets a `WWW-Authenticate` value hold several challenges,
 * comma-separated, which every client must parse, so two bearer realms become one value.
 */
function mergeChallenges(cores: readonly GuardCore[]): Record<string, string> {
  const merged: Record<string, string> = {}
  for (const core of cores) {
    for (const [name, value] of Object.entries(core.challenge ?? {})) {
      const current = merged[name]
      if (current === undefined) merged[name] = value
      else if (!current.split(', ').includes(value)) merged[name] = `${current}, ${value}`
    }
  }
  return merged
}

/**
 * Checks the guards given to `anyOf`, naming the argument at fault: each must be a keyward guard
 * with a credential of its own that it requires.
 */
export function composableCores(guards: readonly unknown[], owner: string, offset: number): GuardCore[] {
  if (guards.length === 0) {
    throw new TypeError(
      `${owner}: pass the guards to choose from, e.g. ${owner}(requireWorkerKey({ keys }), delegateBearerAuth({ validator }))`,
    )
  }
  return guards.map((guard, i) => {
    const argument = `argument ${i + 1 + offset}`
    const core = guardCore(guard)
    if (core === undefined) {
      throw new TypeError(
        `${owner}: ${argument} is not a keyward guard (got ${guard === null ? 'null' : typeof guard}); pass what requireWorkerKey(), verifyWidgetKey() or delegateBearerAuth() return`,
      )
    }
    if (core.middleware === ANY_OF) {
      throw new TypeError(
        `${owner}: ${argument} is an anyOf itself; list its guards in this one instead: anyOf(a, anyOf(b, c)) is anyOf(a, b, c)`,
      )
    }
    if (core.present === undefined) {
      throw new TypeError(
        `${owner}: ${argument} (${core.middleware}) has no credential of its own; mount it after the anyOf: app.get(path, anyOf(...), ${core.middleware}(...), handler)`,
      )
    }
    if (core.optional) {
      throw new TypeError(
        `${owner}: ${argument} (${core.middleware}) has credentialsRequired: false, but ${owner} refuses requests that carry none of its guards' credentials; leave credentialsRequired at its default (true)`,
      )
    }
    return core
  })
}

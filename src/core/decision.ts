import type { KeywardAuth } from './auth.js'
import { type KeywardCode, KeywardError, type KeywardReason } from './errors.js'

/** How the cache answered for this decision. */
export type CacheState = 'hit' | 'miss' | 'refresh' | 'stale'

/** Operator-facing context common to every decision. Fingerprints only, never a secret. */
export interface DecisionContext {
  keyFingerprint?: string
  keyId?: string
  tenantId?: string
  cache?: CacheState
  /** Anything else worth knowing, e.g. the record fingerprint a widget key was checked against. */
  detail?: Record<string, string | number | boolean>
}

export type Decision =
  | ({ outcome: 'allow'; auth: KeywardAuth | undefined; reason: KeywardReason } & DecisionContext)
  | ({ outcome: 'deny' | 'error'; error: KeywardError } & DecisionContext)

/** A decision to let the request through; `auth` is undefined for an anonymous request let on. */
export function allow(
  auth: KeywardAuth | undefined,
  reason: KeywardReason,
  context: DecisionContext = {},
): Decision {
  return { outcome: 'allow', auth, reason, ...context }
}

/** A decision to refuse: the credential was missing, malformed, wrong, or not allowed. */
export function deny(
  code: KeywardCode,
  reason: KeywardReason,
  context: DecisionContext & { headers?: Record<string, string>; message?: string; status?: number } = {},
): Decision {
  const { headers, message, status, ...rest } = context
  return {
    outcome: 'deny',
    error: new KeywardError({ code, reason, ...opt({ headers, message, status }) }),
    ...rest,
  }
}

/** A decision that the server could not decide: misconfiguration (500) or an outage (503). */
export function failure(error: KeywardError, context: DecisionContext = {}): Decision {
  return { outcome: 'error', error, ...context }
}

/** Drops undefined members so objects satisfy `exactOptionalPropertyTypes`. */
export function opt<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v
  return out as { [K in keyof T]?: Exclude<T[K], undefined> }
}

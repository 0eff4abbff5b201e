export type { KeywardAuth } from './core/auth.js'
export { findDigest, matchesDigest } from './core/compare.js'
export { extractCredential, MAX_CREDENTIAL_LENGTH } from './core/credentials.js'
export type { CacheState, Decision } from './core/decision.js'
export {
  type KeywardCode,
  KeywardError,
  type KeywardErrorInit,
  type KeywardReason,
  statusFor,
} from './core/errors.js'
export {
  DECISION_CHANNEL,
  type DecisionEvent,
  type KeywardLogger,
  type ObservabilityOptions,
} from './core/events.js'
export { fingerprint } from './core/fingerprint.js'
export type { GuardControls, GuardOptions, GuardStats } from './core/guard.js'
export type { Clock } from './core/resolver-cache.js'
export { keywardErrorHandler } from './express/error-handler.js'
export type { Guard, GuardRequest } from './express/guard.js'
export type { ProblemBody } from './express/problem.js'
export { fromEnv } from './worker-key/from-env.js'
export type { KeyList, KeyResolver } from './worker-key/key-resolver.js'
export {
  MIN_PRODUCTION_KEY_LENGTH,
  requireWorkerKey,
  type WorkerKeyOptions,
} from './worker-key/require-worker-key.js'

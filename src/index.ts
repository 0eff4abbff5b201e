export type { CircuitBreakerOptions } from './bearer/breaker.js'
export {
  type DelegateBearerAuthOptions,
  delegateBearerAuth,
  type TokenInvalidation,
} from './bearer/delegate-bearer-auth.js'
export { type RequireScopesOptions, requireScopes } from './bearer/scopes.js'
export {
  type HttpValidatorOptions,
  type HttpValidatorResponse,
  httpValidator,
} from './bearer/validators/http.js'
export type { TransportOptions } from './bearer/validators/http-client.js'
export {
  type IntrospectionValidatorOptions,
  introspectionValidator,
} from './bearer/validators/introspection.js'
export { type JwtValidatorOptions, jwtValidator } from './bearer/validators/jwt.js'
export type {
  ActiveToken,
  InactiveReason,
  InactiveToken,
  TokenResult,
  TokenValidator,
  ValidationContext,
} from './bearer/validators/types.js'
export type { BearerAuth, KeywardAuth, WidgetAuth, WorkerAuth } from './core/auth.js'
export type { Clock } from './core/clock.js'
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
export { ForeignError } from './core/foreign-error.js'
export type {
  BearerStats,
  GuardControls,
  GuardOptions,
  GuardStats,
  WidgetKeyStats,
  WorkerKeyStats,
} from './core/guard.js'
export type { AuthenticateResult } from './core/guard-core.js'
export type { KeywardRequest, PlainRequest } from './core/request.js'
export { type AnyOfGuard, type AnyOfOptions, type AuthOf, anyOf } from './express/any-of.js'
export { keywardErrorHandler } from './express/error-handler.js'
export type { Guard, GuardHandler, GuardRequest } from './express/guard.js'
export {
  type HealthCheckBody,
  type HealthCheckHandler,
  type HealthCheckOptions,
  type HealthCheckReason,
  type HealthCheckResult,
  healthCheck,
  type Readiness,
} from './express/health-check.js'
export type { ProblemBody } from './express/problem.js'
export { diagnose } from './widget-key/diagnose.js'
export type {
  DiagnoseOptions,
  Diagnosis,
  DiagnosisTag,
  KeyChange,
  KeyDescription,
  MatchHint,
  RecordDescription,
  SaltInterpretation,
} from './widget-key/diagnosis.js'
export {
  type CreatedWidgetKey,
  type CreateWidgetKeyOptions,
  checkWidgetKeyShape,
  createWidgetKey,
  DEFAULT_WIDGET_KEY_PREFIX,
  WIDGET_KEY_LENGTH_AFTER_PREFIX,
  type WidgetKeyShape,
} from './widget-key/keys.js'
export { type HashWidgetKeyOptions, hashWidgetKey, verifyKeyAgainstRecord } from './widget-key/pbkdf2.js'
export type { LoadedRecord, WidgetRecordInput, WidgetRecordsAnswer } from './widget-key/record-set.js'
export { HashRecordError, type HashRecordField, type HashRecordProblem } from './widget-key/records/errors.js'
export { recordFingerprint } from './widget-key/records/fingerprint.js'
export {
  type FormattedHashRecord,
  type FormattedPbkdf2Record,
  type FormattedScryptRecord,
  type FormattedSha2Record,
  formatHashRecord,
} from './widget-key/records/format.js'
export { detectRecordFormat, inspectHashRecord, parseHashRecord } from './widget-key/records/parse.js'
export { SCRYPT_LIMITS } from './widget-key/records/scrypt.js'
export type {
  HashEncoding,
  HashReading,
  HashRecord,
  HashRecordInput,
  HashRecordObject,
  OutputFormat,
  ParseOptions,
  Pbkdf2Digest,
  Pbkdf2Record,
  RecordFormat,
  RecordInspection,
  SaltEncoding,
  SaltReading,
  ScryptRecord,
  Sha2Digest,
  Sha2Record,
} from './widget-key/records/types.js'
export type {
  InvalidationSource,
  WidgetKeyOptions,
  WidgetRecordsContext,
} from './widget-key/verify-widget-key.js'
export { verifyWidgetKey } from './widget-key/verify-widget-key.js'
export { fromEnv } from './worker-key/from-env.js'
export type { KeyList, KeyResolver } from './worker-key/key-resolver.js'
export {
  MIN_PRODUCTION_KEY_LENGTH,
  requireWorkerKey,
  type WorkerKeyOptions,
} from './worker-key/require-worker-key.js'

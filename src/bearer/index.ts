export { type BearerHeader, parseAuthorization } from './authorization-header.js'
export type { CircuitBreakerOptions } from './breaker.js'
export {
  type DelegateBearerAuthOptions,
  delegateBearerAuth,
  type TokenInvalidation,
} from './delegate-bearer-auth.js'
export { type RequireScopesOptions, requireScopes } from './scopes.js'
export { type HttpValidatorOptions, type HttpValidatorResponse, httpValidator } from './validators/http.js'
export type { TransportOptions } from './validators/http-client.js'
export { type IntrospectionValidatorOptions, introspectionValidator } from './validators/introspection.js'
export { type JwtValidatorOptions, jwtValidator } from './validators/jwt.js'
export type {
  ActiveToken,
  InactiveReason,
  InactiveToken,
  TokenResult,
  TokenValidator,
  ValidationContext,
} from './validators/types.js'
export { type BearerChallengeError, bearerChallenge } from './www-authenticate.js'

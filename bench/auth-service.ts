/**
 * The local auth service for the bearer scenarios, in its own process so that the calls the
 * uncached and naive scenarios make cost a round trip to another process, as in production.
 * Mints one opaque token and one RS256 JWT (valid for the whole run) and reports them over IPC.
 */
import { startAuthService } from '../src/testing/index.js'

const service = await startAuthService({ algorithm: 'RS256' })
const opaqueToken = await service.issue({
  subject: 'bench-user',
  scopes: ['items:read'],
  expiresIn: 4 * 3600,
})
const jwt = await service.issue({
  subject: 'bench-user',
  scopes: ['items:read'],
  expiresIn: 4 * 3600,
  format: 'jwt',
})
// the request log would grow by one entry per validation for the whole run
setInterval(() => {
  service.requests.length = 0
}, 1000).unref()
process.send?.({
  type: 'ready',
  auth: {
    validateUrl: service.validateUrl,
    jwksUri: service.jwksUri,
    issuer: service.issuer,
    audience: service.audience,
    opaqueToken,
    jwt,
  },
})
process.on('disconnect', () => process.exit(0))

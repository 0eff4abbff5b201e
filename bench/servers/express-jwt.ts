import { expressjwt } from 'express-jwt'
import jwksRsa from 'jwks-rsa'
import type { BuildScenario } from './types.js'

/** express-jwt with jwks-rsa's cached key lookup against the same JWKS and JWT: a signature check per request. */
export const build: BuildScenario = async (setup) => ({
  middlewares: [
    expressjwt({
      secret: jwksRsa.expressJwtSecret({
        jwksUri: setup.auth.jwksUri,
        cache: true,
        rateLimit: false,
      }) as never,
      algorithms: ['RS256'],
      audience: setup.auth.audience,
      issuer: setup.auth.issuer,
    }),
  ],
})

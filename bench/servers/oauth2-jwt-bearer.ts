import { createRequire } from 'node:module'
import type { RequestHandler } from 'express'
import type { BuildScenario } from './types.js'

// Loaded untyped: the package's types declare `req.auth` globally with its own shape, which
// would clash with keyward's declaration in this type-checked program.
const require = createRequire(import.meta.url)
const { auth } = require('express-oauth2-jwt-bearer') as {
  auth: (options: Record<string, unknown>) => RequestHandler
}

/** Auth0's express-oauth2-jwt-bearer against the same JWKS and JWT: it verifies the signature on every request. */
export const build: BuildScenario = async (setup) => ({
  middlewares: [
    auth({
      issuer: setup.auth.issuer,
      jwksUri: setup.auth.jwksUri,
      audience: setup.auth.audience,
      tokenSigningAlg: 'RS256',
    }),
  ],
})

import { delegateBearerAuth, jwtValidator } from '../../src/index.js'
import type { BuildScenario } from './types.js'

/** `delegateBearerAuth` + `jwtValidator` against the local JWKS: the signature is checked once per token, then cached. */
export const build: BuildScenario = async (setup) => {
  const guard = delegateBearerAuth({
    validator: jwtValidator({
      issuer: setup.auth.issuer,
      audience: setup.auth.audience,
      jwksUri: setup.auth.jwksUri,
    }),
  })
  await guard.ready()
  return { middlewares: [guard], stats: () => guard.stats() }
}

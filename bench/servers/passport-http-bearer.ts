import { createHash, timingSafeEqual } from 'node:crypto'
import passport from 'passport'
import { Strategy as BearerStrategy } from 'passport-http-bearer'
import type { BuildScenario } from './types.js'

/**
 * passport + passport-http-bearer, sessions off, checking the opaque token against a token known
 * in memory (SHA-256 + `timingSafeEqual`): the best case of a passport bearer setup, no I/O.
 */
export const build: BuildScenario = async (setup) => {
  const expected = createHash('sha256').update(setup.auth.opaqueToken).digest()
  const instance = new passport.Passport()
  instance.use(
    new BearerStrategy((token, done) => {
      const ok = timingSafeEqual(createHash('sha256').update(token).digest(), expected)
      done(null, ok ? { id: 'user-1' } : false)
    }),
  )
  return { middlewares: [instance.initialize(), instance.authenticate('bearer', { session: false })] }
}

import { createHash, timingSafeEqual } from 'node:crypto'
import passport from 'passport'
import { HeaderAPIKeyStrategy } from 'passport-headerapikey'
import type { BuildScenario } from './types.js'

/**
 * passport + passport-headerapikey, sessions off, with the same SHA-256 + `timingSafeEqual`
 * comparison as the hand-written reference in its verify callback: the difference is passport.
 */
export const build: BuildScenario = async (setup) => {
  const expected = createHash('sha256').update(setup.workerKey).digest()
  const strategy = new HeaderAPIKeyStrategy({ header: 'x-worker-key', prefix: '' }, false, (apiKey, done) => {
    const ok = timingSafeEqual(createHash('sha256').update(apiKey).digest(), expected)
    done(null, ok ? { id: 'worker' } : false)
  })
  const instance = new passport.Passport()
  instance.use(strategy)
  return { middlewares: [instance.initialize(), instance.authenticate('headerapikey', { session: false })] }
}

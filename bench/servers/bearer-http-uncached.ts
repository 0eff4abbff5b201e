import { delegateBearerAuth, httpValidator } from '../../src/index.js'
import type { BuildScenario } from './types.js'

/**
 * `delegateBearerAuth` + `httpValidator` with caching off (`cacheTtl: 0`): every request needs a
 * validation, but concurrent requests presenting the same token still share one call.
 */
export const build: BuildScenario = async (setup) => {
  const guard = delegateBearerAuth({
    validator: httpValidator({ url: setup.auth.validateUrl }),
    cacheTtl: 0,
    negativeTtl: 0,
  })
  await guard.ready()
  return { middlewares: [guard], stats: () => guard.stats() }
}

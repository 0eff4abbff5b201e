import { delegateBearerAuth, httpValidator } from '../../src/index.js'
import type { BuildScenario } from './types.js'

/** `delegateBearerAuth` + `httpValidator` against the local auth service, defaults (verdicts cached 60 s). */
export const build: BuildScenario = async (setup) => {
  const guard = delegateBearerAuth({ validator: httpValidator({ url: setup.auth.validateUrl }) })
  await guard.ready()
  return { middlewares: [guard], stats: () => guard.stats() }
}

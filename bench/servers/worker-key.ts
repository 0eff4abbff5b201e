import { requireWorkerKey } from '../../src/index.js'
import type { BuildScenario } from './types.js'

/** `requireWorkerKey` with its defaults; keys cached (30 s TTL), so each request hashes and compares. */
export const build: BuildScenario = async (setup) => {
  const guard = requireWorkerKey({ keys: [{ id: 'primary', key: setup.workerKey }] })
  await guard.ready()
  return { middlewares: [guard], stats: () => guard.stats() }
}

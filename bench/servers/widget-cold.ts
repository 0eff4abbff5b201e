import { verifyWidgetKey } from '../../src/index.js'
import type { BuildScenario } from './types.js'

/**
 * `verifyWidgetKey` with every request a cache miss: each request names a tenant never seen
 * before (all tenants share one 600 000-iteration record, so the key is valid everywhere), so
 * each one is a store read and a full PBKDF2 derivation. Defaults otherwise — in particular
 * `maxHashesInFlight: 8`, beyond which requests are answered 503 at once instead of queueing.
 */
export const build: BuildScenario = async (setup) => {
  const guard = verifyWidgetKey({ records: async () => setup.widgetRecord })
  await guard.ready()
  return { middlewares: [guard], stats: () => guard.stats() }
}

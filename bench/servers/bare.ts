import type { BuildScenario } from './types.js'

/** Bare Express 5: no authentication at all, the ceiling every other row is a fraction of. */
export const build: BuildScenario = async () => ({ middlewares: [] })

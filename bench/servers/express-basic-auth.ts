import basicAuth from 'express-basic-auth'
import type { BuildScenario } from './types.js'

/** express-basic-auth with one static user whose password is the worker key (its own `safeCompare`). */
export const build: BuildScenario = async (setup) => ({
  middlewares: [basicAuth({ users: { worker: setup.workerKey } })],
})

import { createHash, timingSafeEqual } from 'node:crypto'
import type { RequestHandler } from 'express'
import type { BuildScenario } from './types.js'

/**
 * The reference: what a careful developer writes by hand — hash the presented key with SHA-256
 * so both sides are 32 bytes, compare with `timingSafeEqual`. No diagnostics, no rotation, no
 * request-time resolution; the least a correct check can cost.
 */
export const build: BuildScenario = async (setup) => {
  const expected = createHash('sha256').update(setup.workerKey).digest()
  const check: RequestHandler = (req, res, next) => {
    const presented = req.headers['x-worker-key']
    if (
      typeof presented === 'string' &&
      timingSafeEqual(createHash('sha256').update(presented).digest(), expected)
    ) {
      next()
      return
    }
    res.status(401).json({ error: 'unauthorized' })
  }
  return { middlewares: [check] }
}

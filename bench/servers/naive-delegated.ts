import type { RequestHandler } from 'express'
import type { BuildScenario } from './types.js'

/**
 * The delegated check people write first: one call to the auth service per request (global
 * `fetch`, which keeps connections alive), no cache, no coalescing.
 */
export const build: BuildScenario = async (setup) => {
  const check: RequestHandler = async (req, res, next) => {
    const response = await fetch(setup.auth.validateUrl, {
      method: 'POST',
      headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
      body: JSON.stringify({ service_id: 'bench' }),
    })
    const body = (await response.json()) as { valid?: boolean }
    if (response.ok && body.valid === true) {
      next()
      return
    }
    res.status(401).json({ error: 'unauthorized' })
  }
  return { middlewares: [check] }
}

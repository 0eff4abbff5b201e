import { pbkdf2, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import type { RequestHandler } from 'express'
import { parseHashRecord } from '../../src/index.js'
import type { BuildScenario } from './types.js'

const derive = promisify(pbkdf2)

/**
 * The widget check people write first: a 600 000-iteration PBKDF2 on every request (async, on
 * libuv's pool), no cache, no bound on how many run at once.
 */
export const build: BuildScenario = async (setup) => {
  // parsed once, as a hand-written check would hard-code the format
  const record = parseHashRecord(setup.widgetRecord)
  if (record.algorithm !== 'pbkdf2') throw new Error('the naive server hard-codes PBKDF2 records')
  const check: RequestHandler = async (req, res, next) => {
    const key = req.headers['x-widget-key']
    if (typeof key === 'string') {
      const derived = await derive(key, record.salt, record.iterations, record.hash.length, record.digest)
      if (timingSafeEqual(derived, record.hash)) {
        next()
        return
      }
    }
    res.status(401).json({ error: 'unauthorized' })
  }
  return { middlewares: [check] }
}

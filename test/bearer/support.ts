import type { RequestHandler } from 'express'
import type { expressVersions } from '../helpers/apps.js'

type ExpressFactory = (typeof expressVersions)[number]['express']

/**
 * An API with one protected route: `GET /items` behind `guards`, answering 200 with `req.auth`
 * (or `{ anonymous: true }` when the guard let the request through without one).
 */
export function protectedApp(express: ExpressFactory, ...guards: unknown[]) {
  const app = express()
  app.get('/items', ...(guards as RequestHandler[]), (req, res) => {
    res.json(req.auth ?? { anonymous: true })
  })
  return app
}

/** Collects decision events of a guard's `onDecision`. */
export function decisions() {
  const events: Array<Record<string, unknown>> = []
  return { events, onDecision: (event: object) => events.push(event as Record<string, unknown>) }
}

import type { IncomingMessage, ServerResponse } from 'node:http'
import { KeywardError } from '../core/errors.js'
import { sendProblem } from './problem.js'

/**
 * An Express error handler that answers a {@link KeywardError} (from a guard with
 * `onError: 'next'`) as `application/problem+json` and passes anything else on.
 */
export function keywardErrorHandler() {
  return function keywardErrors(
    err: unknown,
    _req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) {
    if (KeywardError.is(err)) sendProblem(res, err)
    else next(err)
  }
}

/**
 * What every example server needs around its Express apps: listening that fails loudly when the
 * port is taken, and errors answered as JSON rather than as an HTML page with a stack trace.
 */
import type { Server } from 'node:http'
import type { ErrorRequestHandler, RequestHandler } from 'express'

/** An Express 4 or 5 app, as far as listening goes. */
interface Listenable {
  listen(port: number, host: string, callback: (error?: Error) => void): Server
}

/**
 * Listens on `host:port`, resolving once the server accepts connections. Rejects with the listen
 * error: Express 5 hands it to the callback, Express 4 emits it on the server (where, without a
 * listener, it would crash the process with a stack trace instead).
 */
export function listen(app: Listenable, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (error?: Error) => {
      if (settled) return
      settled = true
      server.off('error', settle)
      if (error) reject(error)
      else resolve(server)
    }
    const server = app.listen(port, host, settle)
    server.once('error', settle)
  })
}

/**
 * {@link listen}, or exit with status 1 and one line naming the address and the reason — so that
 * a taken port never looks like a running example whose curl lines then reach another program.
 */
export async function listenOrExit(
  app: Listenable,
  port: number,
  host: string,
  what: string,
  fix = 'stop the program using it',
): Promise<Server> {
  try {
    return await listen(app, port, host)
  } catch (error) {
    const code = (error as { code?: string }).code
    const why =
      code === 'EADDRINUSE'
        ? `port ${port} is already in use; ${fix}`
        : code === 'EACCES'
          ? `not allowed to listen on port ${port}; ${fix}`
          : `${code ?? 'listen failed'}`
    console.error(`${what}: cannot listen on ${host}:${port}: ${why}`)
    process.exit(1)
  }
}

/** A JSON 404 for any route the app does not have. */
export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ code: 'not_found', message: `No route for ${req.method} this path.` })
}

/**
 * The last middleware of every example app: an error becomes a JSON answer without the error's
 * message or stack (which can quote input, queries or file paths), and is logged by class and
 * code for the operator. A request the client got wrong (a 4xx error, such as invalid JSON) says
 * so; anything else is a 500.
 */
export function jsonErrors(what: string): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) {
      // too late for an answer: Express closes the connection
      next(error)
      return
    }
    const {
      status,
      statusCode,
      type,
      name = 'Error',
      code,
    } = (error ?? {}) as {
      status?: number
      statusCode?: number
      type?: string
      name?: string
      code?: string
    }
    const given = status ?? statusCode
    if (typeof given === 'number' && given >= 400 && given < 500) {
      res.status(given).json({
        code: type === 'entity.parse.failed' ? 'invalid_json' : 'bad_request',
        message: type === 'entity.parse.failed' ? 'The body is not valid JSON.' : 'The request is not valid.',
      })
      return
    }
    console.error(`${what}: ${name}${code ? ` (${code})` : ''} while answering ${req.method} ${req.path}`)
    res
      .status(500)
      .json({ code: 'internal_error', message: 'The server could not answer; the error is logged.' })
  }
}

import type { KeywardAuth } from '../core/auth.js'

declare global {
  namespace Express {
    interface Request {
      /** Set by a keyward guard when the request's credential was accepted. */
      auth?: KeywardAuth
    }
  }
}

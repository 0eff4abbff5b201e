/**
 * Errors thrown by code keyward calls (a key resolver, a record store, a validator, an HTTP
 * client) may quote what they were given: `JSON.parse` quotes its input, an HTTP client error
 * holds the request headers, an application's validator may print the token. Express prints the
 * errors it is handed, `cause` chain and stack included. So a foreign error never travels inside
 * keyward's errors: only its class name and its `code`.
 */

const CLASS_NAME = /^[A-Za-z_$][\w$]{0,63}$/
const ERROR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/

/** The parts of a foreign error that cannot carry a secret. */
export interface ForeignErrorSummary {
  /** The error's class name (`TypeError`, `SyntaxError`), or `typeof` for a thrown non-error. */
  className: string
  /** The error's `code` (`ECONNREFUSED`, `UND_ERR_CONNECT_TIMEOUT`) when it is a plain identifier. */
  code?: string
}

/** Reduces anything thrown to its class name and code. Never reads `message` or `stack`. */
export function summariseForeignError(error: unknown): ForeignErrorSummary {
  if (typeof error !== 'object' || error === null) {
    return { className: error === null ? 'null' : typeof error }
  }
  const className = safeClassName(error)
  const code = (error as { code?: unknown }).code
  // a code is an identifier; anything else (a number, a sentence, a token) is not repeated
  return typeof code === 'string' && ERROR_CODE.test(code) ? { className, code } : { className }
}

/** `TypeError`, or `Error ECONNREFUSED`: a foreign error named without its text. */
export function foreignErrorName(error: unknown): string {
  const { className, code } = summariseForeignError(error)
  return code === undefined ? className : `${className} ${code}`
}

/**
 * Stands in for a foreign error as a `cause`: it prints as `ForeignError: TypeError (ECONNREFUSED)`,
 * with no stack of the original and none of its text.
 */
export class ForeignError extends Error {
  override readonly name = 'ForeignError'
  /** The original error's class name. */
  readonly className: string
  /** The original error's `code`, when it had a plain one. */
  readonly code: string | undefined

  constructor(original: unknown) {
    const summary = summariseForeignError(original)
    super(summary.code === undefined ? summary.className : `${summary.className} (${summary.code})`)
    this.className = summary.className
    this.code = summary.code
    // the stack would only show where keyward wrapped it; one line reads better in logs
    this.stack = `${this.name}: ${this.message}`
  }
}

function safeClassName(error: object): string {
  const own = (error as { name?: unknown }).name
  if (typeof own === 'string' && CLASS_NAME.test(own)) return own
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name
  return typeof ctor === 'string' && CLASS_NAME.test(ctor) ? ctor : 'Error'
}

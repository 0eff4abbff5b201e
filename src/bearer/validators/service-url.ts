import { KeywardError } from '../../core/errors.js'
import { envVariablesOf } from '../../core/settings.js'

/**
 * Parses a service URL. A literal is checked at construction (TypeError); a resolved one at
 * request time (500). The value is never echoed: a URL can carry credentials.
 */
export function serviceUrl(value: string, source: unknown, option: string, owner: string): URL {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')) return url
  const variables = envVariablesOf(source)
  const what = variables ? `the value of ${variables.join(' / ')}` : `"${option}"`
  if (typeof source === 'function') {
    throw new KeywardError({
      code: 'server_misconfigured',
      reason: 'validator_url_invalid',
      message: `${owner}: ${what} is not an absolute http(s) URL such as https://auth.internal/validate`,
    })
  }
  throw new TypeError(
    `${owner}: ${what} must be an absolute http(s) URL such as https://auth.internal/validate`,
  )
}

/** Where a request went, for messages: origin and path only, never credentials or a query. */
export function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`
}

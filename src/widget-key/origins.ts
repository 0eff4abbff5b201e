/**
 * What a browser puts in `Origin`: the serialised origin, `scheme://host[:port]` with a lower-case
 * scheme and host (IDNs in punycode), the default port left out, and nothing else. Characters a
 * serialised origin never holds (`/ ? # @ % \`, upper case, white space) are refused by the pattern
 * before the URL parser, which would otherwise read them generously, has a say.
 */
const SERIALISED_ORIGIN = /^https?:\/\/[a-z0-9._[\]:-]+$/

/**
 * The request's `Origin` if it is exactly a serialised origin, else undefined. No normalisation:
 * `https://shop.example.com/evil`, `https://a@shop.example.com`, `https://shop%2eexample.com`,
 * `https://SHOP.example.com` and `https://shop.example.com/` each name something other than what a
 * browser sends for a page, so none of them may stand for an allowed origin.
 */
export function parseRequestOrigin(value: string | undefined): string | undefined {
  if (value === undefined || value.length > 2048 || !SERIALISED_ORIGIN.test(value)) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  return url.origin === value ? value : undefined
}

/**
 * A configured origin (an option, or a record's `origins`) as the serialised origin it names.
 * Spellings that name one origin unambiguously are accepted: upper case, one trailing `/`, the
 * scheme's default port. Anything that names more than an origin (a path, query, fragment,
 * userinfo, percent-encoding, a scheme other than http/https) is refused, with the fix.
 *
 * @returns the serialised origin, `'*'` for `'*'`, or an `Error` whose message says what to write
 */
export function configuredOrigin(input: unknown): string | Error {
  if (input === '*') return '*'
  if (typeof input !== 'string' || input.length === 0) {
    return new Error('origins must be non-empty strings such as "https://app.example.com"')
  }
  // userinfo may be a password: never repeat such an entry
  const shown = input.includes('@') ? 'an entry with userinfo (user@)' : JSON.stringify(input)
  let canonical: string | undefined
  let spellings: string[] = []
  try {
    const url = new URL(input)
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      canonical = url.origin
      const defaultPort = url.protocol === 'https:' ? ':443' : ':80'
      const withPort = url.port === '' ? `${canonical}${defaultPort}` : canonical
      spellings = [canonical, `${canonical}/`, withPort, `${withPort}/`]
    }
  } catch {
    // not a URL at all: the message below says what an origin looks like
  }
  if (
    canonical !== undefined &&
    !input.includes('%') &&
    spellings.includes(input.toLowerCase()) &&
    parseRequestOrigin(canonical) === canonical
  ) {
    return canonical
  }
  const hint = canonical === undefined ? '' : `; write "${canonical}"`
  return new Error(
    `${shown} is not an origin: give scheme://host[:port] only (http or https, no path, query, userinfo or percent-encoding)${hint}`,
  )
}

/**
 * Reads an allowed-origin list into the set of serialised origins it names.
 * @throws TypeError naming `where` and the fix, for any entry that is not an origin
 */
export function normaliseOrigins(origins: readonly unknown[], where: string): ReadonlySet<string> {
  const out = new Set<string>()
  for (const origin of origins) {
    const parsed = configuredOrigin(origin)
    if (parsed instanceof Error) throw new TypeError(`${where}: ${parsed.message}`)
    out.add(parsed)
  }
  return out
}

/**
 * True when a request whose `Origin` header is `origin` may use the key. With a list, the header
 * must be exactly one of the listed serialised origins.
 */
export function originAllowed(allowed: ReadonlySet<string> | undefined, origin: string | undefined): boolean {
  if (allowed === undefined || allowed.has('*')) return true
  // a list is a promise that only those pages use the key; a caller that names no origin is not one
  const parsed = parseRequestOrigin(origin)
  return parsed !== undefined && allowed.has(parsed)
}

/**
 * A Postgres identifier we are willing to splice into SQL: letters, digits, `_` and `$`, not
 * starting with a digit, at most 63 bytes (Postgres silently truncates longer names, which
 * would make two names collide). Anything else is refused rather than escaped, so a value from
 * configuration can never become SQL.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/

/** Validates `name` (optionally `schema.name`) and returns it double-quoted, exactly as written. */
export function quoteIdentifier(value: unknown, option: string, owner: string, qualified = false): string {
  const parts = typeof value === 'string' ? (qualified ? value.split('.') : [value]) : []
  if (parts.length === 0 || parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new TypeError(
      `${owner}: "${option}" must be a Postgres identifier${qualified ? ' (optionally schema-qualified, "schema.table")' : ''}: ` +
        `letters, digits, _ and $, not starting with a digit, at most 63 characters; got ${describe(value)}`,
    )
  }
  // quoted, so the name is used exactly as written (no folding to lower case, no keywords)
  return parts.map((part) => `"${part}"`).join('.')
}

/**
 * A LISTEN/NOTIFY channel name. Lower case only: `NOTIFY MyChannel` (unquoted, as most writers
 * send it) folds to `mychannel`, so a listener on a mixed-case name would never hear it.
 */
const CHANNEL = /^[a-z_][a-z0-9_$]{0,62}$/

/** Validates a channel name and returns it unchanged. */
export function channelName(value: unknown, owner: string): string {
  if (typeof value !== 'string' || !CHANNEL.test(value)) {
    throw new TypeError(
      `${owner}: "channel" must be a lower-case Postgres identifier (a-z, 0-9, _ and $, not starting with a ` +
        `digit, at most 63 characters), because unquoted NOTIFY folds names to lower case; got ${describe(value)}`,
    )
  }
  return value
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  if (value === null) return 'null'
  return typeof value
}

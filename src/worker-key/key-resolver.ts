import { describeValue } from '../core/credentials.js'
import { fingerprint, sha256 } from '../core/fingerprint.js'

/** What a key resolver may return: one key, none, or several (rotation). */
export type KeyList = string | undefined | null | ReadonlyArray<string | { id: string; key: string }>

/** Returns the expected keys, at request time. */
export type KeyResolver = () => KeyList | Promise<KeyList>

/** A configured key, as kept in memory: its digest and id, never the key. */
export interface ExpectedKey {
  id: string
  digest: Buffer
  length: number
}

/** Validates the `keys` option at construction and returns a resolver. */
export function keyResolverOption(keys: unknown, owner: string): KeyResolver {
  if (typeof keys === 'function') return keys as KeyResolver
  const expected = `"keys" must be a non-empty string, an array of keys or { id, key }, or a function such as fromEnv("WORKER_KEY")`
  if (typeof keys === 'string') {
    if (keys.length === 0) throw new TypeError(`${owner}: ${expected}; got ${describeValue(keys)}`)
    return () => keys
  }
  if (Array.isArray(keys)) {
    if (keys.length === 0) throw new TypeError(`${owner}: ${expected}; got an empty array`)
    keys.forEach((entry, i) => {
      const key = typeof entry === 'string' ? entry : (entry as { key?: unknown })?.key
      const id = typeof entry === 'string' ? 'x' : (entry as { id?: unknown })?.id
      if (typeof key !== 'string' || key.length === 0) {
        throw new TypeError(`${owner}: "keys[${i}]" must be a non-empty key; got ${describeValue(key)}`)
      }
      if (typeof id !== 'string' || id.length === 0) {
        throw new TypeError(`${owner}: "keys[${i}].id" must be a non-empty string naming the key`)
      }
    })
    const frozen = [...keys]
    return () => frozen
  }
  throw new TypeError(`${owner}: ${expected}; got ${describeValue(keys)}`)
}

/** Turns a resolver's answer into digests; blank entries are dropped (an unset key is no key). */
export function toExpectedKeys(list: KeyList): ExpectedKey[] {
  if (list === undefined || list === null) return []
  const entries = typeof list === 'string' ? [list] : list
  if (!Array.isArray(entries)) throw new TypeError('key resolver returned something other than a key list')
  const out: ExpectedKey[] = []
  for (const entry of entries) {
    const key = typeof entry === 'string' ? entry : entry?.key
    if (typeof key !== 'string' || key.length === 0) continue
    const id = typeof entry === 'string' ? fingerprint(key) : entry.id || fingerprint(key)
    out.push({ id, digest: sha256(key), length: key.length })
  }
  return out
}

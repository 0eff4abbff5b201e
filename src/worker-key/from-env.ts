import { markEnvSource } from '../core/settings.js'
import type { KeyList, KeyResolver } from './key-resolver.js'

/**
 * A key resolver that reads environment variables when it is called (at request time, never
 * at import time, F1). Unset and blank variables are skipped; values are trimmed of surrounding
 * whitespace (a trailing newline from a secrets file is not part of the key). Each variable
 * becomes a key whose id is the variable's name, so `req.auth.keyId` says which one matched.
 *
 * @example requireWorkerKey({ keys: fromEnv('WORKER_KEY', 'WORKER_KEY_PREVIOUS') })
 */
export function fromEnv(...names: string[]): KeyResolver & { readonly variables: readonly string[] } {
  if (names.length === 0 || names.some((name) => typeof name !== 'string' || name.trim() === '')) {
    throw new TypeError('fromEnv: pass one or more environment variable names, e.g. fromEnv("WORKER_KEY")')
  }
  const variables = Object.freeze([...names])
  const resolve = (): KeyList => {
    const keys: Array<{ id: string; key: string }> = []
    for (const name of variables) {
      const value = process.env[name]?.trim()
      if (value) keys.push({ id: name, key: value })
    }
    return keys
  }
  return Object.assign(markEnvSource(resolve, variables), { variables })
}

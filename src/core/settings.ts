import { cannotDecide } from './cannot-decide.js'
import { describeValue } from './credentials.js'
import { KeywardError } from './errors.js'
import { foreignErrorName } from './foreign-error.js'

/*
 * Settings read at request time (F1): a key, a URL, a client secret given as a literal or as a
 * resolver such as `fromEnv('AUTH_SERVICE_URL')`, so a value set after start-up is used at once and
 * an unset one is a server misconfiguration that names its variable.
 */

const ENV_SOURCE = Symbol.for('keyward.fromEnv')

/** Marks a resolver as reading these environment variables, for messages (see `fromEnv`). */
export function markEnvSource<T extends object>(resolver: T, variables: readonly string[]): T {
  Object.defineProperty(resolver, ENV_SOURCE, { value: variables })
  return resolver
}

/** The variables a resolver made by `fromEnv` reads, for error messages. */
export function envVariablesOf(resolver: unknown): readonly string[] | undefined {
  if (typeof resolver !== 'function') return undefined
  return (resolver as unknown as Record<symbol, readonly string[] | undefined>)[ENV_SOURCE]
}

/**
 * Why a setting is missing: "WORKER_KEY is unset or blank in this process — …", "none of A, B is
 * set …", or, for another resolver, "the <what> resolver returned <nothing>".
 */
export function describeUnsetSource(resolver: unknown, what: string, nothing = 'no key'): string {
  const variables = envVariablesOf(resolver)
  if (variables === undefined) return `the ${what} resolver returned ${nothing}`
  if (variables.length === 1) {
    return `${variables[0]} is unset or blank in this process — check how the process is started (env file, container env, systemd unit)`
  }
  return `none of ${variables.join(', ')} is set in this process — check how the process is started`
}

/**
 * A validator setting: a literal, or a resolver such as `fromEnv('AUTH_SERVICE_URL')` called
 * for every validation, so a value set after start-up is used at once (F1).
 */
export type SettingSource = string | (() => unknown)

/** A resolved setting, or the reason it could not be resolved. */
export function settingOption(
  value: unknown,
  option: string,
  owner: string,
): () => Promise<string | undefined> {
  if (typeof value === 'function') {
    const resolver = value as () => unknown
    return async () => firstValue(await resolver())
  }
  if (value instanceof URL) {
    const text = value.href
    return async () => text
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim()
    return async () => text
  }
  throw new TypeError(
    `${owner}: "${option}" must be a non-empty string or a resolver such as fromEnv(...); got ${describeValue(value)}`,
  )
}

function firstValue(list: unknown): string | undefined {
  const entries = Array.isArray(list) ? list : [list]
  for (const entry of entries) {
    const value = typeof entry === 'string' ? entry : (entry as { key?: unknown } | null | undefined)?.key
    if (typeof value === 'string' && value.trim() !== '') return value.trim()
  }
  return undefined
}

/** Reads a setting at request time; unset is a server misconfiguration naming its source (F1). */
export async function readSetting(
  read: () => Promise<string | undefined>,
  source: unknown,
  option: string,
  owner: string,
): Promise<string> {
  let value: string | undefined
  try {
    value = await read()
  } catch (cause) {
    throw cannotDecide(
      'key_resolver_failed',
      `${owner}: the "${option}" resolver failed (${foreignErrorName(cause)})`,
      {
        cause,
        middleware: owner,
      },
    )
  }
  if (value !== undefined) return value
  const where = describeUnsetSource(source, `"${option}"`, 'nothing')
  throw new KeywardError({
    code: 'server_misconfigured',
    reason: 'validator_unset',
    message: `${owner}: no "${option}" — ${where}`,
  })
}

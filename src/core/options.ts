/** Validates a duration or count option; throws a TypeError naming it. */
export function positiveNumber(value: unknown, option: string, owner: string, unit = 'milliseconds'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${owner}: "${option}" must be a positive number of ${unit}; got ${String(value)}`)
  }
  return value
}

/** Validates an integer count option (cache size, bound); throws a TypeError naming it. */
export function positiveInteger(value: unknown, option: string, owner: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(`${owner}: "${option}" must be a positive integer; got ${String(value)}`)
  }
  return value
}

/**
 * Refuses options the factory does not know, naming the closest known one: a misspelt option
 * (`negativeCacheTtl` for `negativeTtl`) or one that does not exist (`bypass`, `failOpen`) would
 * otherwise be ignored without a word, and the guard would run with defaults its author did not
 * choose.
 */
export function refuseUnknownOptions(options: object, known: readonly string[], owner: string): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue
    const refusal = Object.hasOwn(NO_SUCH_THING, name.toLowerCase())
      ? NO_SUCH_THING[name.toLowerCase()]
      : undefined
    if (refusal !== undefined) throw new TypeError(`${owner}: there is no "${name}" option — ${refusal}`)
    const closest = closestName(name, known)
    const hint = closest === undefined ? `known options: ${known.join(', ')}` : `did you mean "${closest}"?`
    throw new TypeError(`${owner}: unknown option ${quotedName(name)} — ${hint}`)
  }
}

const NO_BYPASS =
  'keyward has no bypass (F5): give tests a real key (requireWorkerKey({ keys: "test-key" }) or the keyward/testing kit) instead of switching the check off'
const FAILS_CLOSED =
  'keyward fails closed (F5): when the store or the auth service cannot answer, the answer is 503 auth_unavailable, never "allow"'

/** Options people reach for that would open a way in; each gets its own explanation. */
const NO_SUCH_THING: Record<string, string> = {
  bypass: NO_BYPASS,
  skip: NO_BYPASS,
  testkey: NO_BYPASS,
  testkeys: NO_BYPASS,
  disabled: NO_BYPASS,
  enabled: NO_BYPASS,
  failopen: FAILS_CLOSED,
  allowonerror: FAILS_CLOSED,
  fallback: FAILS_CLOSED,
}

const warned = new Set<string>()

/**
 * Reads an option under its current name, accepting a former name with a one-time deprecation
 * warning (`process.emitWarning`, code `KEYWARD_DEPRECATED_OPTION`). Both at once is an error,
 * since one of them would be silently ignored.
 */
export function renamedOption<T>(
  options: Record<string, unknown>,
  current: string,
  former: string,
  owner: string,
): T | undefined {
  const formerValue = options[former]
  if (formerValue === undefined) return options[current] as T | undefined
  if (options[current] !== undefined) {
    throw new TypeError(`${owner}: pass "${current}" only; "${former}" is its former name`)
  }
  const key = `${owner}.${former}`
  if (!warned.has(key)) {
    warned.add(key)
    process.emitWarning(`${owner}: "${former}" is deprecated; use "${current}"`, {
      type: 'DeprecationWarning',
      code: 'KEYWARD_DEPRECATED_OPTION',
    })
  }
  return formerValue as T
}

/**
 * The known name most like `name`, if one is alike enough to be a slip: likeness is the share of
 * letters in common order (longest common subsequence), which ranks `negativeCacheTtl` nearer to
 * `negativeTtl` than to `cacheTtl`, as a reader would.
 */
function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestLikeness = 0
  for (const candidate of known) {
    const c = candidate.toLowerCase()
    const likeness = (2 * commonSubsequence(lower, c)) / (lower.length + c.length)
    if (likeness > bestLikeness) {
      bestLikeness = likeness
      best = candidate
    }
  }
  return bestLikeness >= 0.7 ? best : undefined
}

function commonSubsequence(a: string, b: string): number {
  let previous = new Array<number>(b.length + 1).fill(0)
  for (let i = 1; i <= a.length; i++) {
    const current = [0]
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!)
    }
    previous = current
  }
  return previous[b.length]!
}

/** An option name as it may be shown: names are code, but keep a pasted secret out anyway. */
function quotedName(name: string): string {
  const shown = printable(name)
  return shown === name ? `"${name}"` : shown
}

function printable(name: string): string {
  return /^[A-Za-z]{1,32}$/.test(name) ? name : `a ${name.length}-character name`
}

/** The options every guard takes (see `GuardOptions`). */
export const GUARD_OPTION_NAMES = ['onError', 'onDecision', 'logger'] as const

/** Validates the options every guard takes; throws a TypeError naming the option. */
export function checkGuardOptions(options: Record<string, unknown>, owner: string): void {
  const { onError, onDecision, logger } = options
  if (onError !== undefined && onError !== 'respond' && onError !== 'next') {
    throw new TypeError(
      `${owner}: "onError" must be 'respond' (answer refusals with problem+json) or 'next' (hand the KeywardError to your error handler); got ${typeof onError === 'string' ? `"${printable(onError)}"` : typeof onError}. A refusal cannot be ignored.`,
    )
  }
  if (onDecision !== undefined && typeof onDecision !== 'function') {
    throw new TypeError(`${owner}: "onDecision" must be a function (event) => void; got ${typeof onDecision}`)
  }
  if (
    logger !== undefined &&
    (typeof logger !== 'object' ||
      logger === null ||
      typeof (logger as { warn?: unknown }).warn !== 'function')
  ) {
    throw new TypeError(
      `${owner}: "logger" must have a warn(obj, msg) method, as pino, bunyan and console do`,
    )
  }
}

/**
 * The option names of an options type, checked by the compiler both ways: a listed name must be
 * an option, and every option must be listed (an option added to the interface but not here
 * would be refused as unknown).
 *
 * @example const NAMES = optionNames<WorkerKeyOptions>()('keys', 'header', ...)
 */
export function optionNames<T>() {
  return <const N extends ReadonlyArray<keyof T & string>>(
    ...names: N &
      ([Exclude<keyof T & string, N[number]>] extends [never]
        ? unknown
        : { missing: Exclude<keyof T & string, N[number]> })
  ): readonly string[] => names
}

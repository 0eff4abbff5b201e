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

const OWN_VALIDATORS = new WeakSet<object>()

/**
 * Marks a validator made by keyward: the messages of the KeywardErrors it throws are keyward's
 * own (a URL without credentials, a class name), so the guard passes them on. Any other
 * validator's KeywardError keeps its code, reason and headers only, as its message may quote
 * the token.
 */
export function ownValidator<T extends object>(validator: T): T {
  OWN_VALIDATORS.add(validator)
  return validator
}

/** Whether {@link ownValidator} marked `validator`. */
export function isOwnValidator(validator: unknown): boolean {
  return typeof validator === 'function' && OWN_VALIDATORS.has(validator)
}

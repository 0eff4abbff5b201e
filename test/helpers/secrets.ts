/**
 * Secrets used by tests are registered here; `test/setup/secret-guard.ts` fails any test in
 * which one of them appears in a response (headers or body), a decision event, or a log line.
 */
const holder = globalThis as { __keywardSecrets?: Set<string> }
holder.__keywardSecrets ??= new Set<string>()
const registry = holder.__keywardSecrets

/** Registers a raw secret (key or token) and returns it. */
export function secret<T extends string>(value: T): T {
  if (value.length >= 8) registry.add(value)
  return value
}

/** The first registered secret found in `text`, if any. */
export function findSecret(text: string): string | undefined {
  for (const value of registry) if (text.includes(value)) return value
  return undefined
}

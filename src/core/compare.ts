import { timingSafeEqual } from 'node:crypto'
import { sha256 } from './fingerprint.js'

/**
 * Compares a presented secret with an expected SHA-256 digest in constant time. Hashing the
 * presented value first makes both sides 32 bytes, so neither its length nor the position of
 * the first differing byte leaks.
 */
export function matchesDigest(presented: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(sha256(presented), expectedDigest)
}

/**
 * Finds which of several expected digests a presented digest equals. Every candidate is
 * compared, so the time taken does not reveal the position of the match.
 */
export function findDigest(presentedDigest: Buffer, expected: readonly Buffer[]): number {
  let found = -1
  for (let i = 0; i < expected.length; i++) {
    const candidate = expected[i]!
    if (
      candidate.length === presentedDigest.length &&
      timingSafeEqual(presentedDigest, candidate) &&
      found < 0
    ) {
      found = i
    }
  }
  return found
}

/** Constant-time equality of two equal-length byte strings (false for different lengths). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

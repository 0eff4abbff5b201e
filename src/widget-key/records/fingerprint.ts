import { createHash } from 'node:crypto'
import type { HashRecord } from './types.js'

/**
 * A short, stable id of a parsed record: `rec_` and 12 hex characters of the SHA-256 of its
 * family and its parameters (digest, iteration count or N/r/p), salt and hash. Decision events carry it so an operator can see *which*
 * record a key was checked against (a stale cache or another database shows up as a different
 * id, F2); it reveals nothing usable about the record. Records that parse to the same bytes get
 * the same id whatever their layout.
 */
export function recordFingerprint(record: HashRecord): string {
  const hash = createHash('sha256')
  // length-prefixed fields, so no two different records serialise to the same input
  // (PBKDF2's serialisation is unchanged, so fingerprints already in logs stay valid)
  if (record.algorithm === 'pbkdf2') {
    hash.update(`pbkdf2:${record.digest}:${record.iterations}:${record.salt.length}:`)
    hash.update(record.salt)
  } else if (record.algorithm === 'scrypt') {
    hash.update(`scrypt:${record.N}:${record.r}:${record.p}:${record.salt.length}:`)
    hash.update(record.salt)
  } else {
    hash.update(`sha2:${record.digest}:`)
  }
  hash.update(`:${record.hash.length}:`)
  hash.update(record.hash)
  return `rec_${hash.digest('hex').slice(0, 12)}`
}

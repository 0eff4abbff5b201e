import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ParseOptions } from '../../src/widget-key/records/types.js'
import { secret } from '../helpers/secrets.js'

/** One case of test/fixtures/pbkdf2-records.json or of the shared vectors (see their README). */
export interface VectorCase {
  id: string
  family: string
  source: string
  format: 'object' | 'json-string' | 'passlib' | 'werkzeug' | 'django' | 'phc'
  key: string
  record: string | Record<string, unknown>
  expect: 'match' | 'mismatch'
  salt_interpretation: string
  encoding: { salt: string; hash: string }
  parsed: { digest: string; iterations: number; dklen: number; salt_hex: string; hash_hex: string } | null
  mismatch_class: 'derived-key-differs' | 'invalid-record' | 'refused-by-policy' | null
  diagnosis: string | null
  would_match_with:
    | { key: string }
    | { iterations: number }
    | { digest: string }
    | { salt_interpretation: string; encoding: { salt: string; hash: string } }
    | null
  slow: boolean
  note: string
}

/** Our own fixtures, made by scripts/fixtures/make_pbkdf2_fixtures.py. */
export const FIXTURES_URL = new URL('../fixtures/pbkdf2-records.json', import.meta.url)

/**
 * The shared sample vectors, vendored so that the repository needs nothing beside it; where they
 * came from and who wrote them is in test/fixtures/shared-vectors.md.
 */
export const SAMPLE_URL = new URL('../fixtures/shared-vectors.json', import.meta.url)

/** Loads a case file and registers every key with the suite's secret guard. */
export function loadCases(url: URL): VectorCase[] {
  const cases = JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as VectorCase[]
  for (const c of cases) {
    secret(c.key)
    const hint = c.would_match_with
    if (hint && 'key' in hint) secret(hint.key)
  }
  return cases
}

/** The reader options a case needs: object and JSON records are told their encodings, string formats fix their own. */
export function optionsFor(c: VectorCase): ParseOptions {
  if (c.format !== 'object' && c.format !== 'json-string') return {}
  return {
    saltEncoding: c.encoding.salt as NonNullable<ParseOptions['saltEncoding']>,
    hashEncoding: c.encoding.hash as NonNullable<ParseOptions['hashEncoding']>,
  }
}

/** `slow` cases (≥ 100,000 iterations) can be skipped while iterating: KEYWARD_SKIP_SLOW=1. */
export const skipSlow = process.env.KEYWARD_SKIP_SLOW === '1'

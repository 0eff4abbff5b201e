import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseAuthorization } from '../../src/bearer/authorization-header.js'

const TOKEN68_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/'
const token68 = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...TOKEN68_CHARS), minLength: 1, maxLength: 200 }),
    fc.nat({ max: 3 }),
  )
  .map(([body, pad]) => body + '='.repeat(pad))
const scheme = fc
  .array(fc.boolean(), { minLength: 6, maxLength: 6 })
  .map((upper) => [...'bearer'].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''))
// what a header value can be, from the well-formed to the hostile
const anyHeader = fc.oneof(
  fc.constant(undefined),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.tuple(scheme, fc.string()).map(([s, rest]) => `${s}${rest}`),
  fc
    .tuple(scheme, fc.constantFrom(' ', '  ', '\t', ''), token68, fc.constantFrom('', ' ', ',x', ' x', '\n'))
    .map((parts) => parts.join('')),
)
const EXACT = /^bearer [A-Za-z0-9\-._~+/]+=*$/i

describe('parseAuthorization', () => {
  it('accepts exactly "Bearer <token68>" with the scheme in any case and returns the token', () => {
    fc.assert(
      fc.property(scheme, token68, (s, token) => {
        expect(parseAuthorization(`${s} ${token}`)).toEqual({ ok: true, token })
      }),
    )
  })

  it('never throws, and accepts a value only when it is exactly "Bearer <token68>"', () => {
    fc.assert(
      fc.property(anyHeader, (raw) => {
        const parsed = parseAuthorization(raw)
        const single =
          typeof raw === 'string' ? raw : Array.isArray(raw) && raw.length === 1 ? raw[0] : undefined
        const acceptable = single !== undefined && single.length <= 4096 && EXACT.test(single)
        expect(parsed.ok).toBe(acceptable)
        if (parsed.ok) expect(`${single?.slice(0, 6)} ${parsed.token}`).toBe(single)
      }),
      { numRuns: 2000 },
    )
  })

  it('calls an absent or empty header, or another scheme, missing_credentials and anything else present invalid_request', () => {
    fc.assert(
      fc.property(anyHeader, (raw) => {
        const parsed = parseAuthorization(raw)
        if (parsed.ok) return
        const single = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw
        const absent = single === undefined || (Array.isArray(single) && single.length === 0) || single === ''
        if (parsed.reason === 'other_scheme') {
          // a well-formed scheme that is not Bearer, on a header that is otherwise clean
          expect(typeof single).toBe('string')
          expect(String(single).split(' ')[0]).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/)
          expect(String(single).split(' ')[0]).not.toMatch(/^bearer/i)
        }
        expect(parsed.code).toBe(
          absent || parsed.reason === 'other_scheme' ? 'missing_credentials' : 'invalid_request',
        )
      }),
      { numRuns: 2000 },
    )
  })

  it.each([
    [undefined, 'missing_credentials', 'no_header'],
    ['', 'missing_credentials', 'header_empty'],
    [['Bearer a', 'Bearer b'], 'invalid_request', 'header_repeated'],
    ['Basic dXNlcjpwYXNz', 'missing_credentials', 'other_scheme'],
    ['Token abcdef', 'missing_credentials', 'other_scheme'],
    ['Bearertoken', 'invalid_request', 'bad_scheme'],
    ['Bearer', 'invalid_request', 'token_malformed'],
    ['Bearer ', 'invalid_request', 'header_surrounding_whitespace'],
    ['Bearer  abc', 'invalid_request', 'token_malformed'],
    ['Bearer\tabc', 'invalid_request', 'bad_scheme'],
    ['Bearer abc def', 'invalid_request', 'token_malformed'],
    ['Bearer abc=def', 'invalid_request', 'token_malformed'],
    ['Bearer abc,def', 'invalid_request', 'header_comma_joined'],
    ['Bearer abc\u00e9', 'invalid_request', 'header_non_ascii'],
    ['Bearer abc\r\n', 'invalid_request', 'header_control_characters'],
    [`Bearer ${'a'.repeat(5000)}`, 'invalid_request', 'header_too_long'],
  ] as const)('refuses %j with %s (%s)', (raw, code, reason) => {
    expect(parseAuthorization(raw as never)).toEqual({ ok: false, code, reason })
  })
})

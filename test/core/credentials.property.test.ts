import fc from 'fast-check'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { extractCredential, MAX_CREDENTIAL_LENGTH } from '../../src/core/credentials.js'
import { requireWorkerKey } from '../../src/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'

const KEY = secret('wk_prop_6b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d')
const runs = Number(process.env.KEYWARD_FUZZ_RUNS ?? 300)

const headerValue = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom(
    KEY,
    ` ${KEY}`,
    `${KEY} `,
    `${KEY}\n`,
    `${KEY},${KEY}`,
    KEY.toUpperCase(),
    KEY.slice(1),
    '',
  ),
  fc.string({ minLength: MAX_CREDENTIAL_LENGTH - 2, maxLength: MAX_CREDENTIAL_LENGTH + 2 }),
)

describe('extractCredential', () => {
  it('never throws, and returns the value unchanged or a documented code', () => {
    fc.assert(
      fc.property(
        fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 }), fc.constant(undefined)),
        (raw) => {
          const result = extractCredential(raw)
          if (result.ok) {
            const single = typeof raw === 'string' ? raw : raw?.[0]
            expect(result.value).toBe(single)
            expect(result.value).toMatch(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/)
            expect(result.value).not.toContain(',')
            expect(result.value.length).toBeLessThanOrEqual(MAX_CREDENTIAL_LENGTH)
          } else {
            expect(['missing_credentials', 'invalid_request']).toContain(result.code)
          }
        },
      ),
      { numRuns: runs * 10 },
    )
  })

  it('names each malformation with its own reason', () => {
    expect(extractCredential([KEY, KEY])).toMatchObject({ reason: 'header_repeated' })
    expect(extractCredential(`${KEY}, ${KEY}`)).toMatchObject({ reason: 'header_comma_joined' })
    expect(extractCredential(`${KEY}\u0000`)).toMatchObject({ reason: 'header_control_characters' })
    expect(extractCredential(`${KEY}é`)).toMatchObject({ reason: 'header_non_ascii' })
    expect(extractCredential(` ${KEY}`)).toMatchObject({ reason: 'header_surrounding_whitespace' })
    expect(extractCredential('k'.repeat(MAX_CREDENTIAL_LENGTH + 1))).toMatchObject({
      reason: 'header_too_long',
    })
    expect(extractCredential('')).toMatchObject({ code: 'missing_credentials', reason: 'header_empty' })
    expect(extractCredential(undefined)).toMatchObject({ code: 'missing_credentials', reason: 'no_header' })
  })
})

describe.each(expressVersions)('requireWorkerKey over HTTP ($name)', ({ express }) => {
  const app = express()
  app.get('/', requireWorkerKey({ keys: KEY }), (_req, res) => {
    res.send('ok')
  })
  const agent = request(app)
  // Node's client refuses to send some bytes at all; those never reach a server either.
  const sendable = fc.string({ minLength: 1, maxLength: 80 }).filter((s) => /^[\x20-\x7e\t]*$/.test(s))

  it('accepts nothing but the exact key, and answers every other value with a documented code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(sendable, fc.constantFrom(KEY.slice(0, -1), `${KEY}x`, KEY.toUpperCase())),
        async (value) => {
          const res = await agent.get('/').set('X-Worker-Key', value)
          if (value === KEY) expect(res.status).toBe(200)
          else {
            expect(res.status).toBe(401)
            expect(['missing_credentials', 'invalid_request', 'invalid_credentials']).toContain(res.body.code)
          }
        },
      ),
      { numRuns: Math.min(runs, 200) },
    )
  })
})

import { describe, expect, it, vi } from 'vitest'
import {
  delegateBearerAuth,
  healthCheck,
  httpValidator,
  introspectionValidator,
  jwtValidator,
  requireScopes,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { pgInvalidation, pgRecordResolver } from '../../src/postgres/index.js'
import { redisInvalidation } from '../../src/redis/index.js'

// An option the factory does not read is worse than an error: `bypass: true` or `failOpen: true`
// constructs fine and the author believes it took effect, and a misspelt `negativeTtl` runs the
// guard with a default nobody chose. Every factory refuses what it does not know.

const validator = httpValidator({ url: 'http://127.0.0.1:9/validate' })
const records = async () => null
const construct = {
  requireWorkerKey: (extra: object) => requireWorkerKey({ keys: 'k'.repeat(40), ...extra }),
  verifyWidgetKey: (extra: object) => verifyWidgetKey({ records, ...extra }),
  delegateBearerAuth: (extra: object) => delegateBearerAuth({ validator, ...extra }),
} as const

describe.each(Object.entries(construct))('%s refuses options it does not know', (name, make) => {
  it.each(['bypass', 'failOpen', 'testKey', 'skip'])(
    'refuses "%s" and says why there is no such thing',
    (option) => {
      expect(() => make({ [option]: true })).toThrow(
        new RegExp(`^${name}: there is no "${option}" option — keyward`),
      )
    },
  )

  it("refuses onError: 'ignore', naming the two values there are", () => {
    expect(() => make({ onError: 'ignore' })).toThrow(/"onError" must be 'respond' .* or 'next'/)
  })

  it('names the closest known option for a misspelling', () => {
    const [typo, meant] = name === 'verifyWidgetKey' ? ['recordTTL', 'recordTtl'] : ['cacheTTL', 'cacheTtl']
    expect(() => make({ [typo]: 1000 })).toThrow(`unknown option "${typo}" — did you mean "${meant}"?`)
  })

  it('never repeats a pasted secret used as an option name', () => {
    const secretish = 'sk_live_0123456789abcdef0123456789abcdef'
    let message = ''
    try {
      make({ [secretish]: true })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('unknown option')
    expect(message).not.toContain(secretish)
  })
})

describe('one vocabulary across guards', () => {
  it('reads negativeTtl on delegateBearerAuth, and its former name negativeCacheTtl with one warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      expect(() => delegateBearerAuth({ validator, negativeTtl: -1 })).toThrow(/"negativeTtl"/)
      delegateBearerAuth({ validator, negativeCacheTtl: 1000 })
      delegateBearerAuth({ validator, negativeCacheTtl: 1000 })
      const calls = warn.mock.calls.filter(
        ([, options]) => String((options as { code?: string })?.code) === 'KEYWARD_DEPRECATED_OPTION',
      )
      expect(calls).toHaveLength(1)
      expect(String(calls[0]![0])).toBe(
        'delegateBearerAuth: "negativeCacheTtl" is deprecated; use "negativeTtl"',
      )
      expect(() => delegateBearerAuth({ validator, negativeTtl: 1, negativeCacheTtl: 1 })).toThrow(
        /pass "negativeTtl" only/,
      )
    } finally {
      warn.mockRestore()
    }
  })

  it('reads cacheSize and timeout on verifyWidgetKey, and its former maxTenants and storeTimeout', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      expect(() => verifyWidgetKey({ records, cacheSize: 0 })).toThrow(/"cacheSize"/)
      expect(() => verifyWidgetKey({ records, timeout: 0 })).toThrow(/"timeout"/)
      expect(() => verifyWidgetKey({ records, maxTenants: 0 })).toThrow(/"cacheSize"/)
      expect(() => verifyWidgetKey({ records, storeTimeout: 0 })).toThrow(/"timeout"/)
      const named = warn.mock.calls.map(([message]) => String(message))
      expect(named).toContain('verifyWidgetKey: "maxTenants" is deprecated; use "cacheSize"')
      expect(named).toContain('verifyWidgetKey: "storeTimeout" is deprecated; use "timeout"')
    } finally {
      warn.mockRestore()
    }
  })
})

describe('the other factories refuse unknown options too', () => {
  const pool = { connect: async () => ({}), query: async () => ({ rows: [] }), totalCount: 0 }
  const cases: Array<[string, () => unknown]> = [
    ['httpValidator', () => httpValidator({ url: 'http://127.0.0.1:9/v', timout: 5 } as never)],
    [
      'introspectionValidator',
      () =>
        introspectionValidator({
          url: 'http://127.0.0.1:9/i',
          clientId: 'a',
          clientSecret: 'b',
          scopes: [],
        } as never),
    ],
    [
      'jwtValidator',
      () => jwtValidator({ issuer: 'http://127.0.0.1:9', audience: 'api', algorithm: 'RS256' } as never),
    ],
    ['requireScopes', () => requireScopes(['items:read'], { realms: 'x' } as never)],
    ['healthCheck', () => healthCheck({ timeOut: 5 } as never, requireWorkerKey({ keys: 'k'.repeat(40) }))],
    ['pgInvalidation', () => pgInvalidation({ client: pool, channel: 'c', heartBeat: 1 } as never)],
    ['pgRecordResolver', () => pgRecordResolver({ pool, tabel: 'x' } as never)],
    ['redisInvalidation', () => redisInvalidation({ channel: 'c', subscriber: {}, bypass: true } as never)],
  ]
  it.each(cases)('%s', (name, make) => {
    expect(make).toThrow(new RegExp(`^${name}: (unknown option|there is no)`))
  })
})

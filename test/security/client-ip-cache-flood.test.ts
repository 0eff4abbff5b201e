/**
 * Verdicts are cached per token and per `client_ip`. Behind `trust proxy`, `req.ip` comes from
 * `X-Forwarded-For`, which the caller writes: one holder of one valid token, sending it with a
 * new address each time, would make an accepted verdict per address and push every other
 * user's session out of the cache (and each of their next requests onto the auth service).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, fingerprint, httpValidator } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { getFrom, listen } from './support.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.requests.length = 0
})

const CACHE_SIZE = 100
const USERS = 5
const FORGED_ADDRESSES = 3 * CACHE_SIZE

describe.each(expressVersions)('one valid token sent from many forged addresses ($name)', ({ express }) => {
  it("cannot push other users' cached sessions out of the cache", async () => {
    const app = express()
    app.set('trust proxy', true)
    const guard = delegateBearerAuth({
      validator: httpValidator({ url: auth.validateUrl }),
      cacheSize: CACHE_SIZE,
    })
    app.get('/items', guard, (_req, res) => {
      res.json({ ok: true })
    })
    const site = await listen(app)
    try {
      const users = await Promise.all(Array.from({ length: USERS }, async () => secret(await auth.issue())))
      const attacker = secret(await auth.issue())
      const asUser = (token: string) =>
        getFrom(`${site.url}/items`, { Authorization: `Bearer ${token}`, 'X-Forwarded-For': '203.0.113.7' })
      for (const token of users) expect((await asUser(token)).status).toBe(200)

      for (let i = 0; i < FORGED_ADDRESSES; i++) {
        const forged = `10.${(i >> 8) & 255}.${i & 255}.1`
        const res = await getFrom(`${site.url}/items`, {
          Authorization: `Bearer ${attacker}`,
          'X-Forwarded-For': forged,
        })
        expect(res.status).toBe(200)
      }

      for (const token of users) expect((await asUser(token)).status).toBe(200)
      const userPrints = new Set(users.map((token) => fingerprint(token)))
      const userCalls = auth.requests.filter(
        (entry) => entry.path === '/validate' && userPrints.has(entry.tokenFingerprint ?? ''),
      )
      // one validation each, the first time: the second round was served from the cache
      expect(userCalls.length).toBe(USERS)
      expect(guard.stats().size).toBeLessThanOrEqual(CACHE_SIZE)
    } finally {
      await site.close()
    }
  }, 60_000)

  it('still caches a token per address for the addresses a real client uses', async () => {
    const app = express()
    app.set('trust proxy', true)
    const guard = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
    app.get('/items', guard, (_req, res) => {
      res.json({ ok: true })
    })
    const site = await listen(app)
    try {
      const token = secret(await auth.issue())
      const addresses = ['203.0.113.1', '203.0.113.2', '198.51.100.3', '2001:db8::4']
      for (let round = 0; round < 3; round++) {
        for (const address of addresses) {
          const res = await getFrom(`${site.url}/items`, {
            Authorization: `Bearer ${token}`,
            'X-Forwarded-For': address,
          })
          expect(res.status).toBe(200)
        }
      }
      expect(auth.requests.filter((entry) => entry.path === '/validate').length).toBe(addresses.length)
    } finally {
      await site.close()
    }
  })
})

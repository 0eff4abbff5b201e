import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, httpValidator } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { getFrom, listen } from './support.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.fault(undefined)
  auth.requests.length = 0
})

const validateCalls = () => auth.requests.filter((entry) => entry.path === '/validate').length

describe.each(expressVersions)(
  'a token the auth service accepts only from one address, with $name',
  ({ express }) => {
    const start = (options: Partial<Parameters<typeof delegateBearerAuth>[0]> = {}) =>
      listen(
        protectedApp(
          express,
          delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), ...options }),
        ),
      )

    it('is refused from another address even though its verdict for the allowed one is cached', async () => {
      const site = await start()
      try {
        const token = secret(await auth.issue({ clientIps: ['127.0.0.1'] }))
        const headers = { Authorization: `Bearer ${token}` }
        expect((await getFrom(`${site.url}/items`, headers, '127.0.0.1')).status).toBe(200)
        expect((await getFrom(`${site.url}/items`, headers, '127.0.0.2')).status).toBe(401)
        // each address's verdict is cached on its own
        expect((await getFrom(`${site.url}/items`, headers, '127.0.0.1')).status).toBe(200)
        expect((await getFrom(`${site.url}/items`, headers, '127.0.0.2')).status).toBe(401)
        expect(validateCalls()).toBe(2)
      } finally {
        await site.close()
      }
    })

    it('does not coalesce concurrent requests from two addresses into one validation', async () => {
      const site = await start()
      try {
        const token = secret(await auth.issue({ clientIps: ['127.0.0.1'] }))
        const headers = { Authorization: `Bearer ${token}` }
        auth.fault('slow', { delay: 200 })
        const [allowed, other] = await Promise.all([
          getFrom(`${site.url}/items`, headers, '127.0.0.1'),
          getFrom(`${site.url}/items`, headers, '127.0.0.2'),
        ])
        expect([allowed.status, other.status]).toEqual([200, 401])
      } finally {
        await site.close()
      }
    })

    it("keys by the token alone with cacheBy: 'token', as documented", async () => {
      const site = await start({ cacheBy: 'token' })
      try {
        const token = secret(await auth.issue({ clientIps: ['127.0.0.1'] }))
        const headers = { Authorization: `Bearer ${token}` }
        expect((await getFrom(`${site.url}/items`, headers, '127.0.0.1')).status).toBe(200)
        expect((await getFrom(`${site.url}/items`, headers, '127.0.0.2')).status).toBe(200)
        expect(validateCalls()).toBe(1)
      } finally {
        await site.close()
      }
    })

    it('refuses an unknown cacheBy at construction', () => {
      expect(() =>
        delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), cacheBy: 'ip' as never }),
      ).toThrow(/"cacheBy" must be 'validator'/)
    })
  },
)

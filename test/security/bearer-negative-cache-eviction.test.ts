import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { delegateBearerAuth, fingerprint, httpValidator } from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/index.js'
import { protectedApp } from '../bearer/support.js'
import { expressVersions } from '../helpers/apps.js'
import { secret } from '../helpers/secrets.js'
import { junkToken } from './support.js'

let auth: AuthService

beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(() => auth.close())
afterEach(() => {
  auth.requests.length = 0
})

describe.each(expressVersions)(
  'a flood of junk tokens and the cached sessions, with $name',
  ({ express }) => {
    it('keeps a valid token cached while more junk tokens than cacheSize are refused', async () => {
      const guard = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), cacheSize: 50 })
      const app = protectedApp(express, guard)
      const token = secret(await auth.issue())
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
      for (let i = 0; i < 60; i++)
        await request(app).get('/items').set('Authorization', `Bearer ${junkToken()}`).expect(401)
      const asked = () =>
        auth.requests.filter((entry) => entry.tokenFingerprint === fingerprint(token)).length
      expect(asked()).toBe(1)
      await request(app).get('/items').set('Authorization', `Bearer ${token}`).expect(200)
      expect(asked()).toBe(1)
    })

    it('bounds refused verdicts by negativeCacheSize', async () => {
      const guard = delegateBearerAuth({
        validator: httpValidator({ url: auth.validateUrl }),
        negativeCacheSize: 10,
      })
      const app = protectedApp(express, guard)
      for (let i = 0; i < 30; i++)
        await request(app).get('/items').set('Authorization', `Bearer ${junkToken()}`).expect(401)
      expect(guard.stats().size).toBe(10)
      expect(() =>
        delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }), negativeCacheSize: 0 }),
      ).toThrow(/"negativeCacheSize" must be a positive integer/)
    })
  },
)

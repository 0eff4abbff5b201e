import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  delegateBearerAuth,
  healthCheck,
  httpValidator,
  type Readiness,
  verifyWidgetKey,
} from '../../src/index.js'
import { type AuthService, startAuthService } from '../../src/testing/auth-service.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { expressVersions } from '../helpers/apps.js'
import { manualClock } from '../helpers/clock.js'

// A health endpoint is usually public. Each probe calls every guard's ready(), which reaches the
// store and the auth service: a client probing in a loop must not become as many upstream calls.

let auth: AuthService
beforeAll(async () => {
  auth = await startAuthService()
})
afterAll(async () => {
  await auth.close()
})

describe.each(expressVersions)('a flood of health probes ($name)', ({ express }) => {
  it('reaches the auth service and the store at most once a second however often it is probed', async () => {
    const clock = manualClock()
    const store = memoryRecordStore()
    let storeReads = 0
    const widget = verifyWidgetKey({
      records: async (tenantId) => {
        storeReads++
        return store.records(tenantId)
      },
    })
    const bearer = delegateBearerAuth({ validator: httpValidator({ url: auth.validateUrl }) })
    const app = express()
    app.get('/health', healthCheck({ clock }, widget, bearer))
    auth.requests.length = 0

    for (let i = 0; i < 30; i++) await request(app).get('/health').expect(200)
    const burst = await Promise.all(Array.from({ length: 20 }, () => request(app).get('/health')))
    expect(burst.every((res) => res.status === 200)).toBe(true)
    expect(auth.requests.length, 'auth service calls for 50 probes').toBe(1)
    expect(storeReads, 'store reads for 50 probes').toBe(1)

    // a second later the probe checks again (the validator keeps its own one-second floor)
    clock.advance(1_001)
    await request(app).get('/health').expect(200)
    expect(storeReads).toBe(2)
  })

  it('reuses a failing answer for the same second too, and sees a recovery after it', async () => {
    const clock = manualClock()
    let up = false
    let calls = 0
    const dependency: Readiness = {
      async ready() {
        calls++
        if (!up) throw new Error('down')
      },
    }
    const app = express()
    app.get('/health', healthCheck({ clock }, dependency))
    for (let i = 0; i < 10; i++) await request(app).get('/health').expect(503)
    expect(calls).toBe(1)
    up = true
    clock.advance(1_001)
    await request(app).get('/health').expect(200)
    expect(calls).toBe(2)
  })
})

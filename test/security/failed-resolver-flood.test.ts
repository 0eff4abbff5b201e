import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { requireWorkerKey } from '../../src/index.js'
import { expressVersions } from '../helpers/apps.js'
import { manualClock } from '../helpers/clock.js'
import { secret } from '../helpers/secrets.js'

// A key resolver that fails or finds no key (an unset variable, a sealed vault) must not be
// called again for every request: a burst of requests would become a burst of vault calls.

const KEY_A = secret('wk_A_4f9c1e0b8a7d6c5b4a3f2e1d0c9b8a7f')

const savedEnv = { ...process.env }
afterEach(() => {
  process.env = { ...savedEnv }
})

describe.each(expressVersions)('a failing key resolver under a burst of requests ($name)', ({ express }) => {
  function appWith(guard: ReturnType<typeof requireWorkerKey>) {
    const app = express()
    app.get('/jobs', guard, (_req, res) => {
      res.json({ ok: true })
    })
    return app
  }

  it('asks a resolver that finds no key at most once a second, however many requests arrive', async () => {
    const clock = manualClock()
    let calls = 0
    const app = appWith(
      requireWorkerKey({
        keys: () => {
          calls++
          return process.env.WORKER_KEY_UNSET
        },
        clock,
      }),
    )
    for (let i = 0; i < 20; i++) await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(500)
    expect(calls).toBe(1)
    clock.advance(1_001)
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(500)
    expect(calls).toBe(2)
  })

  it('asks a throwing resolver at most once a second, and answers 503 meanwhile', async () => {
    const clock = manualClock()
    let calls = 0
    const app = appWith(
      requireWorkerKey({
        keys: async () => {
          calls++
          throw new Error('vault sealed')
        },
        clock,
      }),
    )
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => request(app).get('/jobs').set('X-Worker-Key', KEY_A)),
    )
    expect(answers.map((res) => res.status)).toEqual(Array(20).fill(503))
    expect(calls).toBe(1)
    clock.advance(1_001)
    await request(app).get('/jobs').set('X-Worker-Key', KEY_A).expect(503)
    expect(calls).toBe(2)
  })
})

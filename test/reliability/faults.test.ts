/**
 * Faults, each against a fresh guard on a real HTTP server: the auth service down, slow beyond
 * the timeout, answering 500, answering invalid JSON, resetting connections; the record store
 * throwing, hanging, returning garbage; the key resolver throwing. For each: nothing is wrongly
 * allowed (a credential that is not valid never gets a 200, during or after), a credential that
 * cannot be checked gets 503 (500 for an unreadable record), one already checked keeps being
 * served from the cache, and the guard recovers once the fault ends. The table of statuses, time
 * to answer and time to recover is printed and written to `test/reliability/results/faults.md`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import express, { type RequestHandler } from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createWidgetKey,
  type DecisionEvent,
  delegateBearerAuth,
  formatHashRecord,
  type Guard,
  httpValidator,
  requireWorkerKey,
  verifyWidgetKey,
} from '../../src/index.js'
import { type AuthService, type AuthServiceFault, startAuthService } from '../../src/testing/index.js'
import { memoryRecordStore, type RecordStoreFault } from '../../src/testing/memory-record-store.js'
import { secret } from '../helpers/secrets.js'

/** Guard settings under test: short enough that the suite runs in seconds, and stated in the table. */
const BEARER_TIMEOUT = 500
const BREAKER = { threshold: 3, cooldown: 1000 }
const STORE_TIMEOUT = 500
const SLOW_DELAY = 3000
/** Requests sent while a fault lasts (enough to open the circuit breaker). */
const REQUESTS_DURING_FAULT = 6
/** Longest a guard may take to answer once the fault is over, before the test gives up. */
const RECOVERY_LIMIT = 10_000
/**
 * Bounds on measured times, at least four times what is typical here (answers 2–7 ms past the
 * timeout, recovery at most a second past the cooldown or the record hold), so that a loaded
 * machine does not fail them and a timeout that is not enforced (3000 ms) or a guard that never
 * recovers still does. The figures themselves are in results/faults.md.
 */
const ANSWER_MARGIN = 1500
const BEARER_RECOVERY_LIMIT = 4 * (BREAKER.cooldown + 20)
const STORE_RECOVERY_LIMIT = 4_000
// a failing key resolver is asked again after its one-second floor
const RESOLVER_RECOVERY_LIMIT = 4 * 1_000

interface Answer {
  status: number
  code: string | undefined
  reason: string | undefined
  retryAfter: string | null
  ms: number
}

interface FaultRow {
  fault: string
  guard: string
  valid: Answer
  wrong: Answer
  cached: Answer
  slowestMs: number
  breakerMs: number | undefined
  recoverMs: number
  wronglyAllowed: number
}

const rows: FaultRow[] = []

/** Serves one guard; `get` sends one request and reports status, code, the guard's reason and the time taken. */
async function serve(guard: Guard, events: DecisionEvent[]) {
  const app = express()
  app.get('/', guard as RequestHandler, (_req, res) => {
    res.json({ ok: true })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return {
    async get(headers: Record<string, string>): Promise<Answer> {
      const before = events.length
      const started = performance.now()
      const res = await fetch(base, { headers })
      const text = await res.text()
      const ms = performance.now() - started
      let code: string | undefined
      try {
        code = (JSON.parse(text) as { code?: string }).code
      } catch {
        code = undefined
      }
      return {
        status: res.status,
        code,
        reason: events.slice(before).at(-1)?.reason,
        retryAfter: res.headers.get('retry-after'),
        ms,
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Polls with a valid credential until it is accepted; the time from the fault's end, ms. */
async function timeToRecover(get: () => Promise<Answer>): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < RECOVERY_LIMIT) {
    if ((await get()).status === 200) return performance.now() - started
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return Number.POSITIVE_INFINITY
}

const show = (a: Answer) =>
  a.status === 0 ? '—' : `${a.status} ${a.code ?? ''}${a.reason ? ` (${a.reason})` : ''}`.trim()
const ms = (value: number) =>
  Number.isFinite(value) ? `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ms` : 'never'

function writeTable() {
  const lines = [
    '# Faults: what each guard answers, how fast, and how soon it recovers',
    '',
    `Written by \`test/reliability/faults.test.ts\`. Settings: \`delegateBearerAuth\` with \`httpValidator\`, \`timeout: ${BEARER_TIMEOUT}\`, \`circuitBreaker: { threshold: ${BREAKER.threshold}, cooldown: ${BREAKER.cooldown} }\`; the slow service answers after ${SLOW_DELAY} ms. \`verifyWidgetKey\` with \`storeTimeout: ${STORE_TIMEOUT}\`. ${REQUESTS_DURING_FAULT} requests with a not-yet-checked valid credential are sent during each fault; "time to answer" is the first of them / the slowest; "breaker open" is the answer time once the circuit is open. "Cached" is a credential checked before the fault. "Recover" is the time from the end of the fault to the first 200 for a credential first seen during the fault, polling every 25 ms.`,
    '',
    '| fault | guard | valid credential, not cached | wrong credential | cached credential | time to answer (first / slowest) | breaker open | time to recover | wrongly allowed |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.guard} | ${show(r.valid)} | ${show(r.wrong)} | ${show(r.cached)} | ${ms(r.valid.ms)} / ${ms(r.slowestMs)} | ${r.breakerMs === undefined ? '—' : ms(r.breakerMs)} | ${ms(r.recoverMs)} | ${r.wronglyAllowed} |`,
    ),
    '',
  ]
  const text = lines.join('\n')
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  writeFileSync(new URL('./results/faults.md', import.meta.url), text)
  console.log(text)
}

describe('faults fail closed and recover', () => {
  let auth: AuthService
  beforeAll(async () => {
    auth = await startAuthService({ slowDelay: SLOW_DELAY })
  })
  afterAll(async () => {
    writeTable()
    await auth?.close()
  })

  const bearerFaults: Array<[AuthServiceFault, string]> = [
    ['down', 'auth service down (connections refused)'],
    ['slow', `auth service slow (${SLOW_DELAY} ms, beyond the ${BEARER_TIMEOUT} ms timeout)`],
    ['error', 'auth service answering 500'],
    ['malformed', 'auth service answering invalid JSON'],
    ['reset', 'auth service resetting connections'],
  ]
  it.each(bearerFaults)(
    'delegateBearerAuth: %s — 503, nothing wrongly allowed, recovers',
    async (mode, label) => {
      const events: DecisionEvent[] = []
      const guard = delegateBearerAuth({
        validator: httpValidator({ url: auth.validateUrl }),
        timeout: BEARER_TIMEOUT,
        circuitBreaker: BREAKER,
        onDecision: (event) => events.push(event),
      })
      const app = await serve(guard, events)
      const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
      try {
        // users the service accepted before, whose cached verdicts are then dropped: their
        // failures show the service itself is failing (a token never accepted could be junk
        // that makes a parser fail), so they are what opens the circuit
        const users: string[] = []
        for (let i = 0; i < REQUESTS_DURING_FAULT; i++) {
          const token = secret(await auth.issue())
          expect((await app.get(bearer(token))).status).toBe(200)
          users.push(token)
        }
        guard.invalidate()
        const cachedToken = secret(await auth.issue())
        const freshToken = users[0]!
        const revoked = secret(await auth.issue())
        auth.revoke(revoked)
        const neverIssued = secret('kwt_never_issued_0123456789abcdefABCDEF')
        expect((await app.get(bearer(cachedToken))).status).toBe(200)

        auth.fault(mode)
        const answers: Answer[] = []
        for (const token of users) answers.push(await app.get(bearer(token)))
        const wrong = await app.get(bearer(neverIssued))
        const revokedAnswer = await app.get(bearer(revoked))
        const cached = await app.get(bearer(cachedToken))
        auth.fault(undefined)

        const recoverMs = await timeToRecover(() => app.get(bearer(freshToken)))
        const after = [await app.get(bearer(neverIssued)), await app.get(bearer(revoked))]
        const wronglyAllowed = [wrong, revokedAnswer, ...after].filter((a) => a.status === 200).length
        const breakerAnswers = answers.filter((a) => a.reason === 'circuit_open')
        rows.push({
          fault: label,
          guard: '`delegateBearerAuth` + `httpValidator`',
          valid: answers[0]!,
          wrong,
          cached,
          slowestMs: Math.max(...answers.map((a) => a.ms)),
          breakerMs: breakerAnswers.length ? Math.max(...breakerAnswers.map((a) => a.ms)) : undefined,
          recoverMs,
          wronglyAllowed,
        })

        expect(wronglyAllowed).toBe(0)
        for (const answer of [...answers, wrong, revokedAnswer]) {
          expect(answer.status, show(answer)).toBe(503)
          expect(answer.code).toBe('auth_unavailable')
          expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1)
        }
        // an unreadable answer is about one request (a token the service echoes unescaped can
        // provoke it), so it never opens the circuit; failures of the service itself do
        if (mode === 'malformed') expect(breakerAnswers.length, 'the circuit stayed closed').toBe(0)
        else expect(breakerAnswers.length, 'the circuit opened').toBeGreaterThan(0)
        expect(cached.status, 'a token checked before the fault is still served').toBe(200)
        expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(BEARER_TIMEOUT + ANSWER_MARGIN)
        expect(recoverMs).toBeLessThan(BEARER_RECOVERY_LIMIT)
        expect(after.map((a) => a.status)).toEqual([401, 401])
      } finally {
        auth.fault(undefined)
        await app.close()
      }
    },
  )

  const storeFaults: Array<[RecordStoreFault, string, number]> = [
    ['throw', 'record store throwing', 503],
    ['hang', `record store hanging (beyond the ${STORE_TIMEOUT} ms timeout)`, 503],
    ['garbage', 'record store returning garbage', 500],
  ]
  it.each(storeFaults)(
    'verifyWidgetKey: store %s — fails closed, recovers',
    async (mode, label, expected) => {
      const events: DecisionEvent[] = []
      const warm = await createWidgetKey({ iterations: 1000 })
      const fresh = await createWidgetKey({ iterations: 1000 })
      const other = await createWidgetKey({ iterations: 1000 })
      for (const key of [warm.key, fresh.key, other.key]) secret(key)
      const store = memoryRecordStore({
        initial: { warm: formatHashRecord(warm.record, 'phc'), fresh: formatHashRecord(fresh.record, 'phc') },
      })
      const guard = verifyWidgetKey({
        records: store.records,
        timeout: STORE_TIMEOUT,
        onDecision: (e) => events.push(e),
      })
      const app = await serve(guard, events)
      const widget = (tenant: string, key: string) => ({ 'x-tenant-id': tenant, 'x-widget-key': key })
      try {
        expect((await app.get(widget('warm', warm.key))).status).toBe(200)

        store.fault(mode)
        const answers: Answer[] = []
        for (let i = 0; i < REQUESTS_DURING_FAULT; i++)
          answers.push(await app.get(widget('fresh', fresh.key)))
        // another tenant's valid key: right shape, wrong tenant
        const wrong = await app.get(widget('fresh', other.key))
        const cached = await app.get(widget('warm', warm.key))
        store.fault(undefined)

        const recoverMs = await timeToRecover(() => app.get(widget('fresh', fresh.key)))
        const after = await app.get(widget('fresh', other.key))
        const wronglyAllowed = [wrong, after].filter((a) => a.status === 200).length
        rows.push({
          fault: label,
          guard: '`verifyWidgetKey`',
          valid: answers[0]!,
          wrong,
          cached,
          slowestMs: Math.max(...answers.map((a) => a.ms)),
          breakerMs: undefined,
          recoverMs,
          wronglyAllowed,
        })

        expect(wronglyAllowed).toBe(0)
        for (const answer of [...answers, wrong]) {
          expect(answer.status, show(answer)).toBe(expected)
          if (expected === 503) expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1)
        }
        expect(cached.status, 'a tenant whose record is cached is still served').toBe(200)
        expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(STORE_TIMEOUT + ANSWER_MARGIN)
        expect(recoverMs).toBeLessThan(STORE_RECOVERY_LIMIT)
        expect(after.status).toBe(401)
      } finally {
        await app.close()
      }
    },
  )

  it.each([
    ['before any key was resolved', false],
    ['after the keys were cached', true],
  ])(
    'requireWorkerKey: key resolver throwing %s — 503, nothing wrongly allowed, recovers',
    async (when, warmFirst) => {
      const events: DecisionEvent[] = []
      const key = secret('wk_faults_7f3e9a1c5b8d2e4f6a0c1b3d5e7f9a2b')
      const wrongKey = secret('wk_faults_0000000000000000000000000000000x')
      let broken = false
      const guard = requireWorkerKey({
        keys: () => {
          if (broken) throw new Error('secret store unreachable')
          return key
        },
        onDecision: (e) => events.push(e),
      })
      const app = await serve(guard, events)
      try {
        if (warmFirst) expect((await app.get({ 'x-worker-key': key })).status).toBe(200)
        broken = true
        const answers: Answer[] = []
        for (let i = 0; i < REQUESTS_DURING_FAULT; i++) answers.push(await app.get({ 'x-worker-key': key }))
        const wrong = await app.get({ 'x-worker-key': wrongKey })
        broken = false
        const recoverMs = await timeToRecover(() => app.get({ 'x-worker-key': key }))
        const after = await app.get({ 'x-worker-key': wrongKey })
        const wronglyAllowed = [wrong, after].filter((a) => a.status === 200).length
        rows.push({
          fault: `key resolver throwing, ${when}`,
          guard: '`requireWorkerKey`',
          valid: answers[0]!,
          wrong,
          // status 0: nothing was cached before this fault
          cached: warmFirst
            ? answers[0]!
            : { status: 0, code: undefined, reason: undefined, retryAfter: null, ms: 0 },
          slowestMs: Math.max(...answers.map((a) => a.ms)),
          breakerMs: undefined,
          recoverMs,
          wronglyAllowed,
        })

        expect(wronglyAllowed).toBe(0)
        // the right key: served from the cache when the keys were resolved before, else 503
        for (const answer of answers) expect(answer.status, show(answer)).toBe(warmFirst ? 200 : 503)
        // a wrong key makes the guard re-resolve, which fails: "cannot decide", never "yes"
        expect(wrong.status, show(wrong)).toBe(503)
        expect(wrong.code).toBe('auth_unavailable')
        // a failing resolver is asked again after a second (requireWorkerKey's floor)
        expect(recoverMs).toBeLessThan(RESOLVER_RECOVERY_LIMIT)
        expect(after.status).toBe(401)
      } finally {
        await app.close()
      }
    },
  )
})

/**
 * Timing: a wrong worker key of the expected key's length must take as long to refuse as a wrong
 * key of another length — nothing in the answer time may tell an attacker the key's length or
 * how many leading characters they got right.
 *
 * Method. The guard's whole decision path runs in-process through the middleware with fake
 * req/res (no sockets, so the network's jitter does not drown nanoseconds). Three kinds of
 * wrong key are presented: the right length differing only in the last character (what a
 * short-circuiting `===` spends longest on), the right length differing in the first, and one
 * character longer (what `===` refuses at once by length). The expected key is long
 * (KEY_LENGTH characters) so that a comparison that is not constant-time costs enough to show,
 * while both lengths hash in the same number of SHA-256 blocks. Each sample is the time of
 * BATCH sequential decisions; samples of the kinds are interleaved in random order, SAMPLES per
 * kind, after a warm-up. Each kind is summarised by the QUANTILE-quantile of its sample times
 * (the box test: the fast part of the distribution is the part preemption and GC disturb
 * least), and two kinds are "the same" when the 95% bootstrap interval of the relative
 * difference of those quantiles lies within ±TOLERANCE. The same procedure is run against a
 * deliberately naive middleware that compares with `===` and must find it different: the test
 * has the power to see the leak it is looking for.
 *
 * On the 2-core benchmark machine keyward's kinds differ by under 0.5% (intervals within ±0.5%,
 * busy machine or not) and the naive `===` by 20–27%: the ±5% bound sits well between the two.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { type Guard, requireWorkerKey } from '../../src/index.js'
import { secret } from '../helpers/secrets.js'
import { fakeRequest, runGuard } from './helpers/fake-http.js'
import { type Comparison, compareTimings } from './helpers/timing-stats.js'

const KEY_LENGTH = 1024
const BATCH = 10
const SAMPLES = 1500
const QUANTILE = 0.25
const TOLERANCE = 0.05

const EXPECTED = secret(`wk_${randomBytes(KEY_LENGTH).toString('base64url')}`.slice(0, KEY_LENGTH))
const flip = (c: string) => (c === 'a' ? 'b' : 'a')
const WRONG_LAST = EXPECTED.slice(0, -1) + flip(EXPECTED.at(-1)!)
const WRONG_FIRST = flip(EXPECTED[0]!) + EXPECTED.slice(1)
const WRONG_LENGTH = `${EXPECTED}a`

/** The check the test must be able to catch: extract the header, compare with `===`. */
const naiveGuard = ((
  req: { headersDistinct: Record<string, string[] | undefined> },
  res: { statusCode: number; end(body: string): void },
  next: () => void,
) => {
  const presented = req.headersDistinct['x-worker-key']?.[0]
  if (presented === EXPECTED) {
    next()
    return
  }
  res.statusCode = 401
  res.end('{"code":"invalid_credentials"}')
}) as unknown as Guard

async function timeBatch(guard: Guard, value: string): Promise<number> {
  const req = fakeRequest({ 'x-worker-key': value })
  const started = process.hrtime.bigint()
  for (let i = 0; i < BATCH; i++) {
    const outcome = await runGuard(guard, req)
    if (outcome.outcome === 'next') throw new Error('a wrong key was allowed')
  }
  return Number(process.hrtime.bigint() - started)
}

/** Interleaved samples of each kind of wrong key; returns sample times (ns) per kind. */
async function measure(guard: Guard): Promise<Record<'last' | 'first' | 'length', number[]>> {
  const kinds = { last: WRONG_LAST, first: WRONG_FIRST, length: WRONG_LENGTH }
  const samples = { last: [] as number[], first: [] as number[], length: [] as number[] }
  const names = Object.keys(kinds) as Array<keyof typeof kinds>
  for (let i = 0; i < SAMPLES / 5; i++) for (const name of names) await timeBatch(guard, kinds[name])
  for (let i = 0; i < SAMPLES; i++) {
    // a fresh random order each round, so no kind always runs right after a GC-heavy neighbour
    const order = [...names].sort(() => Math.random() - 0.5)
    for (const name of order) samples[name].push(await timeBatch(guard, kinds[name]))
  }
  return samples
}

const same = (c: Comparison) => c.low > -TOLERANCE && c.high < TOLERANCE
const describeComparison = (name: string, c: Comparison) =>
  `${name}: difference of the ${QUANTILE * 100}th percentiles ${(c.relativeDifference * 100).toFixed(2)}% (95% CI ${(c.low * 100).toFixed(2)}% … ${(c.high * 100).toFixed(2)}%), Mann-Whitney z ${c.mannWhitneyZ.toFixed(1)}`

describe('timing of wrong worker keys', () => {
  it('shows no measurable difference between a wrong key of the right length and one of the wrong length', async () => {
    const guard = requireWorkerKey({ keys: EXPECTED })
    await guard.ready()
    const samples = await measure(guard)
    const lengthVsRight = compareTimings(samples.last, samples.length, QUANTILE)
    const lastVsFirst = compareTimings(samples.last, samples.first, QUANTILE)
    console.log(`keyward ${describeComparison('right length vs wrong length', lengthVsRight)}`)
    console.log(`keyward ${describeComparison('last char wrong vs first char wrong', lastVsFirst)}`)
    expect(same(lengthVsRight), describeComparison('right vs wrong length', lengthVsRight)).toBe(true)
    expect(same(lastVsFirst), describeComparison('last vs first character', lastVsFirst)).toBe(true)
  })

  it('has the power to see a short-circuiting === comparison (the same method fails it)', async () => {
    const samples = await measure(naiveGuard)
    const lengthVsRight = compareTimings(samples.last, samples.length, QUANTILE)
    console.log(`naive === ${describeComparison('right length vs wrong length', lengthVsRight)}`)
    expect(same(lengthVsRight), describeComparison('naive right vs wrong length', lengthVsRight)).toBe(false)
    // and in the direction a leak has: the full-length comparison is the slow one
    expect(lengthVsRight.low).toBeGreaterThan(0)
  })
})

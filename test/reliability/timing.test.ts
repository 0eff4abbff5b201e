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
 * BATCH sequential decisions. keyward's guard and a deliberately naive middleware that
 * compares with `===` are measured in the same run, their samples interleaved in random order
 * (SAMPLES per guard and kind, after a warm-up), so whatever the machine does meanwhile falls
 * on both alike. Each kind is summarised by the QUANTILE-quantile of its sample times (the box
 * test: the fast part of the distribution is the part preemption and GC disturb least), and two
 * kinds are compared by the 95% bootstrap interval of the relative difference of those quantiles.
 *
 * The decision is relative to the leak the method must be able to see, measured alongside: the
 * naive `===` must show a difference (its interval above zero: the test has the power), and
 * keyward's interval must lie within ±LEAK_SHARE of that same-run difference. A guard leaking as
 * `===` does sits at 100% of it. Noise widens keyward's interval, which can only fail the rule,
 * never pass it, so an undecided attempt (the naive difference not seen, or keyward's interval
 * too wide) is repeated, up to ATTEMPTS times; a leak fails every attempt.
 *
 * On the 2-core benchmark machine keyward's kinds differ by under 0.5% (intervals within ±0.5%,
 * quiet machine) and the naive `===` by 20–27%; under load keyward's interval has widened to
 * ±6%. The strict figure (keyward within ±TARGET on a quiet machine) is reported in
 * results/timing.md, not asserted.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Guard, requireWorkerKey } from '../../src/index.js'
import { secret } from '../helpers/secrets.js'
import { fakeRequest, runGuard } from './helpers/fake-http.js'
import { type Comparison, compareTimings } from './helpers/timing-stats.js'

const KEY_LENGTH = 1024
const BATCH = 10
const SAMPLES = 3000
const QUANTILE = 0.25
/** Share of the naive `===` difference keyward's interval must stay within. */
const LEAK_SHARE = 0.5
const ATTEMPTS = 3
/** The quiet-machine target for keyward's interval, reported, not asserted. */
const TARGET = 0.05

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

type Kind = 'last' | 'first' | 'length'
type Samples = Record<Kind, number[]>

/** Interleaved samples of each guard and kind of wrong key; sample times (ns) per guard and kind. */
async function measure(guards: {
  keyward: Guard
  naive: Guard
}): Promise<{ keyward: Samples; naive: Samples }> {
  const kinds: Record<Kind, string> = { last: WRONG_LAST, first: WRONG_FIRST, length: WRONG_LENGTH }
  const samples = {
    keyward: { last: [] as number[], first: [] as number[], length: [] as number[] },
    naive: { last: [] as number[], first: [] as number[], length: [] as number[] },
  }
  const cells = (['keyward', 'naive'] as const).flatMap((guard) =>
    (Object.keys(kinds) as Kind[]).map((kind) => ({ guard, kind })),
  )
  for (let i = 0; i < SAMPLES / 5; i++)
    for (const { guard, kind } of cells) await timeBatch(guards[guard], kinds[kind])
  for (let i = 0; i < SAMPLES; i++) {
    // a fresh random order each round, so no cell always runs right after a GC-heavy neighbour
    const order = [...cells].sort(() => Math.random() - 0.5)
    for (const { guard, kind } of order)
      samples[guard][kind].push(await timeBatch(guards[guard], kinds[kind]))
  }
  return samples
}

const describeComparison = (name: string, c: Comparison) =>
  `${name}: difference of the ${QUANTILE * 100}th percentiles ${(c.relativeDifference * 100).toFixed(2)}% (95% CI ${(c.low * 100).toFixed(2)}% … ${(c.high * 100).toFixed(2)}%), Mann-Whitney z ${c.mannWhitneyZ.toFixed(1)}`

interface Attempt {
  keyward: { lengthVsRight: Comparison; lastVsFirst: Comparison }
  naive: { lengthVsRight: Comparison; lastVsFirst: Comparison }
  /** The naive leak was seen in both comparisons. */
  powered: boolean
  /** keyward's intervals lie within ±LEAK_SHARE of the naive differences. */
  within: boolean
}

function judge(samples: { keyward: Samples; naive: Samples }): Attempt {
  const compare = (s: Samples) => ({
    lengthVsRight: compareTimings(s.last, s.length, QUANTILE),
    lastVsFirst: compareTimings(s.last, s.first, QUANTILE),
  })
  const keyward = compare(samples.keyward)
  const naive = compare(samples.naive)
  const inside = (k: Comparison, n: Comparison) => {
    const bound = n.relativeDifference * LEAK_SHARE
    return k.low > -bound && k.high < bound
  }
  return {
    keyward,
    naive,
    powered: naive.lengthVsRight.low > 0 && naive.lastVsFirst.low > 0,
    within:
      inside(keyward.lengthVsRight, naive.lengthVsRight) && inside(keyward.lastVsFirst, naive.lastVsFirst),
  }
}

function report(attempts: Attempt[]): string {
  const lines = [
    '# Timing of wrong worker keys',
    '',
    `Written by \`test/reliability/timing.test.ts\`. Key length ${KEY_LENGTH}, ${SAMPLES} samples of ${BATCH} decisions per guard and kind, interleaved; the ${QUANTILE * 100}th percentiles compared, 95% bootstrap intervals. Passes when the naive \`===\` shows a difference and keyward's intervals lie within ±${LEAK_SHARE * 100}% of it, in one of at most ${ATTEMPTS} attempts.`,
    '',
  ]
  for (const [index, attempt] of attempts.entries()) {
    const within = (c: Comparison) => c.low > -TARGET && c.high < TARGET
    lines.push(
      `## Attempt ${index + 1}: ${attempt.powered && attempt.within ? 'decided: no leak' : attempt.powered ? 'keyward differs, or its interval is too wide' : 'naive leak not seen'}`,
      '',
      `- keyward ${describeComparison('right length vs wrong length', attempt.keyward.lengthVsRight)}`,
      `- keyward ${describeComparison('last char wrong vs first char wrong', attempt.keyward.lastVsFirst)}`,
      `- naive === ${describeComparison('right length vs wrong length', attempt.naive.lengthVsRight)}`,
      `- naive === ${describeComparison('last char wrong vs first char wrong', attempt.naive.lastVsFirst)}`,
      `- quiet-machine target, keyward's intervals within ±${TARGET * 100}%: ${within(attempt.keyward.lengthVsRight) && within(attempt.keyward.lastVsFirst) ? 'met' : 'not met'}`,
      '',
    )
  }
  return lines.join('\n')
}

describe('timing of wrong worker keys', () => {
  const attempts: Attempt[] = []

  beforeAll(async () => {
    const keyward = requireWorkerKey({ keys: EXPECTED })
    await keyward.ready()
    for (let i = 0; i < ATTEMPTS; i++) {
      const attempt = judge(await measure({ keyward, naive: naiveGuard }))
      attempts.push(attempt)
      if (attempt.powered && attempt.within) break
    }
    const text = report(attempts)
    console.log(text)
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
    writeFileSync(new URL('./results/timing.md', import.meta.url), text)
  })

  it('has the power to see a short-circuiting === comparison (the same method, in the same run)', () => {
    const last = attempts.at(-1)!
    expect(
      attempts.some((a) => a.powered),
      describeComparison('naive right vs wrong length', last.naive.lengthVsRight),
    ).toBe(true)
    // and in the direction a leak has: the full-length comparison is the slow one
    expect(last.naive.lengthVsRight.relativeDifference).toBeGreaterThan(0)
  })

  it('shows no difference between a wrong key of the right length and one of the wrong length, or by how many characters are right', () => {
    const last = attempts.at(-1)!
    expect(
      attempts.some((a) => a.powered && a.within),
      [
        describeComparison('keyward right vs wrong length', last.keyward.lengthVsRight),
        describeComparison('keyward last vs first character', last.keyward.lastVsFirst),
        describeComparison('naive right vs wrong length', last.naive.lengthVsRight),
      ].join('; '),
    ).toBe(true)
  })
})

/**
 * Statistics for the timing test: a low quantile of each sample (the "box test" of Crosby,
 * Wallach and Riedi, "Opportunities and limits of remote timing attacks", 2009: the fast part
 * of a timing distribution is the part other processes disturb least), a bootstrap confidence
 * interval of the relative difference of two such quantiles, and the Mann-Whitney U z-score
 * (reported alongside, as a second opinion that assumes no distribution).
 */

/** The q-quantile (0..1) of the values, by linear interpolation. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const below = Math.floor(at)
  const above = Math.min(sorted.length - 1, below + 1)
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (at - below)
}

/** A small deterministic PRNG (mulberry32), so a failing run can be re-computed exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Comparison {
  /** quantile(a) / quantile(b) − 1. */
  relativeDifference: number
  /** 95% bootstrap percentile interval of the relative difference. */
  low: number
  high: number
  /** Mann-Whitney U, normal approximation; |z| > 1.96 is "different" at 5%. */
  mannWhitneyZ: number
}

/** Compares two samples of timings by their q-quantiles. */
export function compareTimings(
  a: readonly number[],
  b: readonly number[],
  q: number,
  resamples = 1000,
  seed = 42,
): Comparison {
  const next = random(seed)
  const pick = (values: readonly number[]) =>
    Array.from({ length: values.length }, () => values[Math.floor(next() * values.length)]!)
  const diffs: number[] = []
  for (let i = 0; i < resamples; i++) diffs.push(quantile(pick(a), q) / quantile(pick(b), q) - 1)
  diffs.sort((x, y) => x - y)
  return {
    relativeDifference: quantile(a, q) / quantile(b, q) - 1,
    low: diffs[Math.floor(resamples * 0.025)]!,
    high: diffs[Math.ceil(resamples * 0.975) - 1]!,
    mannWhitneyZ: mannWhitneyZ(a, b),
  }
}

function mannWhitneyZ(a: readonly number[], b: readonly number[]): number {
  const all = [
    ...a.map((value) => ({ value, fromA: true })),
    ...b.map((value) => ({ value, fromA: false })),
  ].sort((x, y) => x.value - y.value)
  // average ranks for ties
  let rankSumA = 0
  for (let i = 0; i < all.length; ) {
    let j = i
    while (j + 1 < all.length && all[j + 1]!.value === all[i]!.value) j++
    const rank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) if (all[k]!.fromA) rankSumA += rank
    i = j + 1
  }
  const n1 = a.length
  const n2 = b.length
  const u = rankSumA - (n1 * (n1 + 1)) / 2
  const mean = (n1 * n2) / 2
  const sd = Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12)
  return (u - mean) / sd
}

import { LRUCache } from 'lru-cache'
import { type Clock, lruClock } from '../core/clock.js'
import type { InactiveReason } from './validators/types.js'

/** A validator's verdict as the cache keeps it: checked, with scopes and claims always present. */
export type Verdict =
  | {
      active: true
      subject?: string
      scopes: readonly string[]
      expiresAt?: Date
      claims: Readonly<Record<string, unknown>>
    }
  | { active: false; reason: InactiveReason }

/** A cached verdict and how long it may be used. */
export interface CachedVerdict {
  verdict: Verdict
  /** The token's fingerprint, so `invalidate(fingerprint)` can find it. */
  fingerprint: string
  /** Until then (clock ms) the verdict is used without asking the validator. */
  freshUntil: number
  /** Until then the verdict may still be used when the validator cannot decide (`staleIfError`). */
  staleUntil: number
}

export interface TokenCacheOptions {
  /** Most accepted verdicts kept. */
  max: number
  /** Most refused verdicts kept, in their own LRU so junk tokens cannot evict real sessions. */
  negativeMax: number
  /** How long an "active" verdict is used, ms; capped by the token's expiry. 0 = not kept. */
  ttl: number
  /** How long an "inactive" verdict is used, ms. 0 = not kept. */
  negativeTtl: number
  /** How long past freshness a verdict may stand in for a validator that fails, ms. 0 = never. */
  staleIfError: number
  clock: Clock
}

const FINGERPRINT = /^kw_[0-9a-f]{12}$/

/**
 * Most accepted verdicts one token holds at once, one per request key (client address). The
 * address may come from `X-Forwarded-For`, which the caller writes: without a bound, one valid
 * token sent with a new address each time would fill the cache and evict every other session.
 * 32 is far more addresses than one client uses within `cacheTtl`.
 */
const MAX_KEYS_PER_TOKEN = 32

/** The token part of a cache key: the digest, before the request key. */
function tokenOf(key: string): string {
  const end = key.indexOf('\u0000')
  return end < 0 ? key : key.slice(0, end)
}

interface Flight {
  promise: Promise<Verdict>
  controller: AbortController
  waiters: number
}

/** Why a shared validation was aborted when every request waiting for it went away. */
export class ClientsGone extends Error {
  override readonly name = 'ClientsGone'
}

/**
 * Verdicts per cache key — the token's SHA-256 (never the token), plus whatever the validator
 * sends about the request — with a positive TTL capped by the token's expiry, a short negative
 * TTL in a separate smaller LRU, an optional stale-if-error window, and one validation in flight
 * per key however many requests present it at once.
 */
export class TokenCache {
  private readonly accepted: LRUCache<string, CachedVerdict>
  private readonly refused: LRUCache<string, CachedVerdict>
  // digests of tokens the validator has accepted, kept past their verdicts' lifetime: the
  // breaker trusts a failure of such a token as evidence of an outage (junk cannot forge one)
  private readonly acceptedBefore: LRUCache<string, true>
  private readonly inflight = new Map<string, Flight>()
  // the accepted cache keys of each token, oldest first, to hold it to MAX_KEYS_PER_TOKEN
  private readonly keysOfToken = new Map<string, Set<string>>()
  // bumped by invalidate(): a validation that started before a revocation must not re-cache
  // the verdict the revocation just dropped
  private generation = 0
  readonly counters = { hits: 0, misses: 0, refreshes: 0, stale: 0, coalesced: 0 }

  constructor(private readonly options: TokenCacheOptions) {
    const lru = (max: number, dispose?: (key: string) => void) =>
      new LRUCache<string, CachedVerdict>({
        max,
        ...lruClock(options.clock),
        // no cached "now": the injected clock is the only source of time, fake or real
        ttlResolution: 0,
        ...(dispose === undefined
          ? {}
          : { dispose: (_value, key, reason) => (reason === 'set' ? undefined : dispose(key)) }),
      })
    this.accepted = lru(options.max, (key) => {
      const token = tokenOf(key)
      const keys = this.keysOfToken.get(token)
      keys?.delete(key)
      if (keys?.size === 0) this.keysOfToken.delete(token)
    })
    this.refused = lru(options.negativeMax)
    this.acceptedBefore = new LRUCache<string, true>({ max: options.max })
  }

  /** The cached verdict for a cache key, fresh or only stale, or undefined. */
  lookup(key: string): { cached: CachedVerdict; fresh: boolean } | undefined {
    const entries = this.accepted.has(key) ? this.accepted : this.refused
    const cached = entries.get(key)
    if (cached === undefined) return undefined
    const now = this.options.clock.now()
    if (now < cached.freshUntil) return { cached, fresh: true }
    if (now < cached.staleUntil) return { cached, fresh: false }
    entries.delete(key)
    return undefined
  }

  /** Whether the validator has accepted this token (by digest) before, from any request. */
  wasAccepted(tokenDigest: string): boolean {
    return this.acceptedBefore.has(tokenDigest)
  }

  /** Notes that the validator accepted this token. */
  noteAccepted(tokenDigest: string): void {
    this.acceptedBefore.set(tokenDigest, true)
  }

  /**
   * Runs `validate` for a token unless a validation of it is already in flight, in which case
   * the caller waits for that one. `gone` is the caller's "my client went away" signal: when
   * every waiter's client has gone, the shared validation is aborted.
   */
  async load(
    key: string,
    fingerprint: string,
    validate: (signal: AbortSignal) => Promise<Verdict>,
    gone?: AbortSignal,
  ): Promise<{ verdict: Verdict; coalesced: boolean }> {
    let flight = this.inflight.get(key)
    const coalesced = flight !== undefined
    if (flight === undefined) flight = this.start(key, fingerprint, validate)
    else this.counters.coalesced++
    const joined = flight
    joined.waiters++
    const leave = () => {
      joined.waiters--
      if (joined.waiters === 0)
        joined.controller.abort(new ClientsGone('every request waiting for this validation has gone'))
    }
    if (gone?.aborted) leave()
    else gone?.addEventListener('abort', leave, { once: true })
    try {
      return { verdict: await joined.promise, coalesced }
    } finally {
      gone?.removeEventListener('abort', leave)
    }
  }

  /**
   * Drops every verdict (no id), or those of one token fingerprint. An id that is not a
   * fingerprint drops everything: a revocation we cannot read must not be ignored.
   */
  invalidate(id?: string): void {
    this.generation++
    this.inflight.clear()
    if (id === undefined || !FINGERPRINT.test(id)) {
      this.accepted.clear()
      this.refused.clear()
      return
    }
    for (const entries of [this.accepted, this.refused])
      for (const [key, cached] of entries.entries()) if (cached.fingerprint === id) entries.delete(key)
  }

  get size(): number {
    return this.accepted.size + this.refused.size
  }

  private start(
    key: string,
    fingerprint: string,
    validate: (signal: AbortSignal) => Promise<Verdict>,
  ): Flight {
    const flight: Flight = {
      controller: new AbortController(),
      waiters: 0,
      promise: Promise.resolve(undefined as never),
    }
    this.inflight.set(key, flight)
    const generation = this.generation
    flight.promise = (async () => {
      try {
        const verdict = await validate(flight.controller.signal)
        if (generation === this.generation) this.store(key, fingerprint, verdict)
        return verdict
      } finally {
        if (this.inflight.get(key) === flight) this.inflight.delete(key)
      }
    })()
    return flight
  }

  private store(key: string, fingerprint: string, verdict: Verdict): void {
    const now = this.options.clock.now()
    let fresh = verdict.active ? this.options.ttl : this.options.negativeTtl
    let lifetime = fresh + this.options.staleIfError
    if (verdict.active && verdict.expiresAt !== undefined) {
      // never past the token's own expiry, fresh or stale
      const left = verdict.expiresAt.getTime() - Date.now()
      fresh = Math.min(fresh, left)
      lifetime = Math.min(lifetime, left)
    }
    // the new verdict replaces the old one, in whichever LRU it was
    this.accepted.delete(key)
    this.refused.delete(key)
    if (fresh <= 0 && lifetime <= 0) return
    const freshUntil = now + Math.max(fresh, 0)
    const staleUntil = now + lifetime
    if (!verdict.active) {
      this.refused.set(key, { verdict, fingerprint, freshUntil, staleUntil }, { ttl: Math.ceil(lifetime) })
      return
    }
    const token = tokenOf(key)
    let keys = this.keysOfToken.get(token)
    if (keys === undefined) {
      keys = new Set()
      this.keysOfToken.set(token, keys)
    }
    // a token beyond its share gives up its own oldest verdict, never another session's
    if (keys.size >= MAX_KEYS_PER_TOKEN) this.accepted.delete(keys.values().next().value!)
    keys.add(key)
    this.accepted.set(key, { verdict, fingerprint, freshUntil, staleUntil }, { ttl: Math.ceil(lifetime) })
  }
}

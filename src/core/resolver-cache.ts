import { LRUCache } from 'lru-cache'
import type { CacheState } from './decision.js'

/** A clock for cache ages, in ms. Tests inject one; production uses `performance`. */
export interface Clock {
  now(): number
}

export interface ResolverCacheOptions<V> {
  /** Loads the value for a key. Its rejection is the caller's "cannot decide". */
  load: (key: string, context: unknown) => Promise<V> | V
  /** How long a loaded value is used, ms. */
  ttl: number
  /** Most keys kept. */
  max: number
  /** A value is re-read because it failed to match at most this often, ms (default 1000). */
  minRefreshInterval?: number
  /** Per value TTL, e.g. a short one for "not found"; defaults to `ttl`. */
  ttlFor?: (value: V) => number
  /** Values for which this returns false are handed out but not kept (e.g. an unset key, F1). */
  keep?: (value: V) => boolean
  /**
   * When set, a failed load (a rejection, or a value `keep` refuses) is remembered for this
   * many ms instead of being retried by the next caller: a failing resolver is then asked at
   * most once per window however many requests arrive, and a fix (a variable set later) is
   * seen within it. Default: not remembered.
   */
  failureTtl?: number
  clock?: Clock
}

export interface Loaded<V> {
  value: V
  cache: CacheState
}

type Entry<V> = {
  /** Set when this value was loaded by a refresh-on-mismatch, for its rate limit. */
  refreshedAt: number | undefined
} & ({ value: V; failed?: undefined } | { failed: { error: unknown } })

interface FetchContext {
  caller: unknown
  refresh: boolean
}

export interface ResolverCacheStats {
  [counter: string]: number
  hits: number
  misses: number
  refreshes: number
  failures: number
  size: number
}

/**
 * Values from a resolver (keys, hash records), cached with a TTL by lru-cache, with concurrent
 * loads coalesced by its `fetch()`, and a rate-limited forced re-read for refresh-on-mismatch.
 */
export class ResolverCache<V> {
  private readonly cache: LRUCache<string, Entry<V>, unknown>
  private readonly clock: Clock
  private readonly minRefreshInterval: number
  private readonly keep: (value: V) => boolean
  private readonly failureTtl: number | undefined
  private readonly counters = { hits: 0, misses: 0, refreshes: 0, failures: 0 }
  /** Bumped by every invalidate(), so a load can tell it was aborted by one. */
  private invalidations = 0

  constructor(options: ResolverCacheOptions<V>) {
    this.clock = options.clock ?? performance
    this.minRefreshInterval = options.minRefreshInterval ?? 1000
    this.keep = options.keep ?? (() => true)
    this.failureTtl = options.failureTtl
    const { ttlFor, failureTtl } = options
    const keep = this.keep
    this.cache = new LRUCache<string, Entry<V>, unknown>({
      max: options.max,
      ttl: options.ttl,
      perf: this.clock,
      fetchMethod: async (key, _stale, { options: fetchOptions, context }) => {
        const { caller, refresh } = context as FetchContext
        const refreshedAt = refresh ? this.clock.now() : undefined
        let value: V
        try {
          value = await options.load(key, caller)
        } catch (error) {
          if (failureTtl === undefined) throw error
          fetchOptions.ttl = failureTtl
          return { failed: { error }, refreshedAt }
        }
        if (failureTtl !== undefined && !keep(value)) fetchOptions.ttl = failureTtl
        else if (ttlFor) fetchOptions.ttl = ttlFor(value)
        return { value, refreshedAt }
      },
    })
  }

  /** The cached value if present and fresh, without loading: the synchronous fast path. */
  peek(key: string): V | undefined {
    const entry = this.cache.get(key)
    if (entry === undefined || entry.failed) return undefined
    this.counters.hits++
    return entry.value
  }

  /** The cached value, or a load of it (one load however many callers ask at once). */
  async get(key: string, context?: unknown): Promise<Loaded<V>> {
    const cached = this.cache.get(key)
    if (cached?.failed) {
      this.counters.failures++
      throw cached.failed.error
    }
    if (cached !== undefined) {
      this.counters.hits++
      return { value: cached.value, cache: 'hit' }
    }
    this.counters.misses++
    return { value: await this.fetch(key, context, false), cache: 'miss' }
  }

  /**
   * Re-reads a value that just failed to match, unless the last such re-read of this key was
   * less than `minRefreshInterval` ago; returns undefined when no re-read happened. The limit
   * counts re-reads, not loads: a key rotated right after a routine (TTL) load still works at
   * once, and a flood of wrong keys still costs one read per interval.
   */
  async refresh(key: string, context?: unknown): Promise<Loaded<V> | undefined> {
    const entry = this.cache.get(key, { allowStale: true })
    if (entry?.refreshedAt !== undefined && this.clock.now() - entry.refreshedAt < this.minRefreshInterval) {
      return undefined
    }
    this.counters.refreshes++
    return { value: await this.fetch(key, context, true), cache: 'refresh' }
  }

  /** Drops one key, or everything. */
  invalidate(key?: string): void {
    this.invalidations++
    if (key === undefined) this.cache.clear()
    else this.cache.delete(key)
  }

  stats(): ResolverCacheStats {
    return { ...this.counters, size: this.cache.size }
  }

  private async fetch(key: string, context: unknown, forceRefresh: boolean, retried = false): Promise<V> {
    const invalidations = this.invalidations
    let entry: Entry<V> | undefined
    try {
      entry = await this.cache.fetch(key, {
        context: { caller: context, refresh: forceRefresh },
        forceRefresh,
      })
    } catch (error) {
      // invalidate() aborts a load in flight (lru-cache rejects it): what it was reading may be
      // exactly what was invalidated, so read once more instead of failing the request
      if (!retried && this.invalidations !== invalidations)
        return this.fetch(key, context, forceRefresh, true)
      this.counters.failures++
      throw error
    }
    if (entry === undefined) throw new Error('resolver cache: load returned nothing')
    if (entry.failed) {
      this.counters.failures++
      throw entry.failed.error
    }
    if (this.failureTtl === undefined && !this.keep(entry.value)) this.cache.delete(key)
    return entry.value
  }
}

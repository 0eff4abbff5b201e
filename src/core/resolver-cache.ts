import { LRUCache } from 'lru-cache'
import { type Clock, lruClock } from './clock.js'
import type { CacheState } from './decision.js'

export interface ResolverCacheOptions<V> {
  /**
   * Loads the value for a key. Its rejection is the caller's "cannot decide". `signal` aborts when
   * the load is no longer wanted (the key was invalidated while it ran).
   */
  load: (key: string, context: unknown, signal: AbortSignal) => Promise<V> | V
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
   * Values for which `is` returns true ("no such tenant", "this key does not match") are kept in a
   * cache of their own, of at most `max` entries, so a flood of refused lookups evicts only other
   * refusals, never a value that was found. Default: every value shares the one cache.
   */
  negative?: { is: (value: V) => boolean; max: number }
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

interface Entry<V> {
  value: V
  /** Set when this value was loaded by a refresh-on-mismatch, for its rate limit. */
  refreshedAt: number | undefined
  ttl: number
  /** `invalidations` when the load settled. */
  generation: number
  /** Set when the load rejected and the rejection is remembered (`failureTtl`). */
  failed?: { error: unknown }
}

interface FetchContext {
  caller: unknown
  refresh: boolean
}

export type ResolverCacheStats = {
  hits: number
  misses: number
  refreshes: number
  failures: number
  size: number
  negativeSize: number
}

/** A load's own rejection, told apart from lru-cache aborting the load. */
class LoadFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Values from a resolver (keys, hash records), cached with a TTL by lru-cache, with concurrent
 * loads coalesced by its `fetch()`, and a rate-limited forced re-read for refresh-on-mismatch.
 *
 * Loads in flight live in a cache of their own, and each settled value moves to the cache of its
 * kind (found, or `negative`): what was found is evicted only by other found values, whatever is
 * asked for in between.
 */
export class ResolverCache<V> {
  /** Loads in flight only: bounded by concurrency, so eviction here is next to impossible. */
  private readonly loads: LRUCache<string, Entry<V>, FetchContext>
  private readonly values: LRUCache<string, Entry<V>>
  private readonly negatives: LRUCache<string, Entry<V>> | undefined
  private readonly isNegative: ((value: V) => boolean) | undefined
  private readonly clock: Clock
  private readonly minRefreshInterval: number
  private readonly keep: (value: V) => boolean
  private readonly failureTtl: number | undefined
  private readonly counters = { hits: 0, misses: 0, refreshes: 0, failures: 0 }
  /** Bumped by every invalidate(), so a load can tell that one happened while it ran. */
  private invalidations = 0

  constructor(options: ResolverCacheOptions<V>) {
    this.clock = options.clock ?? performance
    this.minRefreshInterval = options.minRefreshInterval ?? 1000
    this.keep = options.keep ?? (() => true)
    this.failureTtl = options.failureTtl
    const { ttlFor, load, negative, failureTtl } = options
    this.values = new LRUCache<string, Entry<V>>({
      max: options.max,
      ttl: options.ttl,
      ...lruClock(this.clock),
    })
    if (negative) {
      this.negatives = new LRUCache<string, Entry<V>>({
        max: negative.max,
        ttl: options.ttl,
        ...lruClock(this.clock),
      })
      this.isNegative = negative.is
    }
    this.loads = new LRUCache<string, Entry<V>, FetchContext>({
      max: options.max + (negative?.max ?? 0),
      ttl: options.ttl,
      ...lruClock(this.clock),
      fetchMethod: async (key, _stale, { signal, context }) => {
        const refreshedAt = context.refresh ? this.clock.now() : undefined
        let value: V
        try {
          value = await load(key, context.caller, signal)
        } catch (error) {
          if (failureTtl === undefined) throw new LoadFailure(error)
          return {
            value: undefined as V,
            failed: { error },
            ttl: failureTtl,
            refreshedAt,
            generation: this.invalidations,
          }
        }
        const ttl = ttlFor ? ttlFor(value) : options.ttl
        return { value, ttl, refreshedAt, generation: this.invalidations }
      },
    })
  }

  /**
   * The cached value if present and fresh, without loading: the synchronous fast path. Not
   * counted: a caller that decides from it calls {@link countHit}, and one that goes on to
   * `get()` is counted there, so a request is counted once.
   */
  peek(key: string): V | undefined {
    const entry = this.cached(key)
    if (entry === undefined || entry.failed) return undefined
    return entry.value
  }

  /** Counts a request answered from a {@link peek}. */
  countHit(): void {
    this.counters.hits++
  }

  /** The cached value, or a load of it (one load however many callers ask at once). */
  async get(key: string, context?: unknown): Promise<Loaded<V>> {
    const cached = this.cached(key)
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
    const entry = this.values.get(key, { allowStale: true }) ?? this.negatives?.get(key, { allowStale: true })
    if (entry?.refreshedAt !== undefined && this.clock.now() - entry.refreshedAt < this.minRefreshInterval) {
      return undefined
    }
    this.counters.refreshes++
    return { value: await this.fetch(key, context, true), cache: 'refresh' }
  }

  /** Drops one key, or everything; a load in flight for it is aborted. */
  invalidate(key?: string): void {
    this.invalidations++
    if (key === undefined) {
      this.loads.clear()
      this.values.clear()
      this.negatives?.clear()
    } else {
      this.loads.delete(key)
      this.values.delete(key)
      this.negatives?.delete(key)
    }
  }

  stats(): ResolverCacheStats {
    return { ...this.counters, size: this.values.size, negativeSize: this.negatives?.size ?? 0 }
  }

  private cached(key: string): Entry<V> | undefined {
    return this.values.get(key) ?? this.negatives?.get(key)
  }

  private async fetch(key: string, context: unknown, forceRefresh: boolean, retried = false): Promise<V> {
    let entry: Entry<V> | undefined
    try {
      entry = await this.loads.fetch(key, {
        context: { caller: context, refresh: forceRefresh },
        forceRefresh,
      })
    } catch (error) {
      if (error instanceof LoadFailure) {
        this.counters.failures++
        throw error.error
      }
      // lru-cache aborted the load: invalidate() (what it was reading may be exactly what was
      // invalidated) or, past `max` loads in flight, eviction; read once more instead of failing
      if (!retried) return this.fetch(key, context, forceRefresh, true)
      this.counters.failures++
      throw error
    }
    if (entry === undefined) throw new Error('resolver cache: load returned nothing')
    // a later load of the key may already be in flight: only the settled entry leaves
    if (this.loads.peek(key, { allowStale: true }) === entry) this.loads.delete(key)
    // an invalidate() may have run between the load settling and this line: never keep what it dropped
    if (this.invalidations !== entry.generation) {
      if (!retried) return this.fetch(key, context, forceRefresh, true)
      return this.settled(entry)
    }
    const failed = entry.failed !== undefined || !this.keep(entry.value)
    if (failed && this.failureTtl === undefined) return this.settled(entry)
    // failures count as refusals: a flood of them must not evict what was found
    const negative = this.negatives !== undefined && (failed || this.isNegative?.(entry.value) === true)
    ;(negative ? this.values : this.negatives)?.delete(key)
    ;(negative ? this.negatives! : this.values).set(key, entry, {
      ttl: failed ? this.failureTtl! : entry.ttl,
    })
    return this.settled(entry)
  }

  /** The value of a settled load, or its remembered rejection thrown. */
  private settled(entry: Entry<V>): V {
    if (entry.failed) {
      this.counters.failures++
      throw entry.failed.error
    }
    return entry.value
  }
}

import type { WidgetRecordInput, WidgetRecordsAnswer } from '../widget-key/record-set.js'
import type { InvalidationSource, WidgetRecordsContext } from '../widget-key/verify-widget-key.js'

/** Faults a {@link MemoryRecordStore} can be put in, to test that a guard fails closed. */
export type RecordStoreFault = 'throw' | 'hang' | 'garbage'

export interface MemoryRecordStore {
  /**
   * The hash resolver: pass it as `verifyWidgetKey({ records: store.records })`. Like a client that
   * takes a signal, a read (a hanging one included) rejects with the signal's reason when it aborts.
   */
  records: (tenantId: string, context?: Partial<WidgetRecordsContext>) => Promise<WidgetRecordsAnswer>
  /** Sets a tenant's record(s); notifies `invalidation` subscribers. */
  set(tenantId: string, records: WidgetRecordInput | readonly WidgetRecordInput[]): void
  /** Removes a tenant; notifies `invalidation` subscribers. */
  delete(tenantId: string): void
  /** `'throw'`: reads reject; `'hang'`: reads settle only when aborted; `'garbage'`: reads return a non-record. */
  fault(mode: RecordStoreFault | undefined): void
  /** A bus that announces every `set` and `delete`, for `verifyWidgetKey({ invalidation })`. */
  invalidation: InvalidationSource
  /** How many reads the store has answered (or been asked for, under a fault). */
  readonly reads: number
  /** How many reads were aborted by their signal before they settled. */
  readonly aborted: number
}

export interface MemoryRecordStoreOptions {
  /** Tenants and records to start with. */
  initial?: Record<string, WidgetRecordInput | readonly WidgetRecordInput[]>
  /** Delay of every read, ms, as a real store's round trip. Default 0 (next tick). */
  latency?: number
}

/**
 * An in-memory widget hash store, for tests and demos: it behaves like a real store (every read
 * is asynchronous and counted) and can be switched into the faults a real one has.
 */
export function memoryRecordStore(options: MemoryRecordStoreOptions = {}): MemoryRecordStore {
  const tenants = new Map<string, WidgetRecordInput | readonly WidgetRecordInput[]>(
    Object.entries(options.initial ?? {}),
  )
  const listeners = new Set<(id?: string) => void>()
  const latency = options.latency ?? 0
  let mode: RecordStoreFault | undefined
  let reads = 0
  let aborted = 0

  const notify = (tenantId: string) => {
    for (const listener of listeners) listener(tenantId)
  }

  return {
    records: async (tenantId, context) => {
      reads++
      const signal = context?.signal
      signal?.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          aborted++
          cancel()
          reject(signal?.reason)
        }
        const done = () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        let cancel = () => {}
        if (latency > 0 && mode !== 'hang') {
          const timer = setTimeout(done, latency)
          cancel = () => clearTimeout(timer)
        } else if (mode !== 'hang') {
          const immediate = setImmediate(done)
          cancel = () => clearImmediate(immediate)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
      })
      if (mode === 'throw') throw new Error('record store unavailable')
      if (mode === 'garbage') return 42 as unknown as WidgetRecordsAnswer
      return tenants.get(tenantId) ?? null
    },
    set(tenantId, records) {
      tenants.set(tenantId, records)
      notify(tenantId)
    },
    delete(tenantId) {
      tenants.delete(tenantId)
      notify(tenantId)
    },
    fault(next) {
      mode = next
    },
    invalidation: {
      subscribe(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    },
    get reads() {
      return reads
    },
    get aborted() {
      return aborted
    },
  }
}

import { describe, expectTypeOf, it } from 'vitest'
import type {
  KeywardReason,
  WidgetKeyOptions,
  WidgetRecordsAnswer,
  WidgetRecordsContext,
} from '../../src/index.js'
import type { MemoryRecordStore } from '../../src/testing/memory-record-store.js'

describe('verifyWidgetKey option types', () => {
  it('hands the records resolver the tenant id and a signal, never a request', () => {
    expectTypeOf<Parameters<WidgetKeyOptions['records']>>().toEqualTypeOf<[string, WidgetRecordsContext]>()
    expectTypeOf<WidgetRecordsContext>().toEqualTypeOf<{ readonly signal: AbortSignal }>()
    expectTypeOf<(tenantId: string) => Promise<WidgetRecordsAnswer>>().toExtend<WidgetKeyOptions['records']>()
    expectTypeOf<MemoryRecordStore['records']>().toExtend<WidgetKeyOptions['records']>()
  })

  it('names the preflight modes and the new reasons', () => {
    expectTypeOf<WidgetKeyOptions['preflight']>().toEqualTypeOf<'respond' | 'next' | undefined>()
    expectTypeOf<'key_prefix_missing' | 'origin_malformed'>().toExtend<KeywardReason>()
  })
})

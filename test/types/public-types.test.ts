import type { Request } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import type { KeywardAuth, KeywardCode, KeywardError, KeywardReason } from '../../src/index.js'

describe('public types', () => {
  it('types req.auth through module augmentation of Express Request', () => {
    expectTypeOf<Request['auth']>().toEqualTypeOf<KeywardAuth | undefined>()
    expectTypeOf<KeywardAuth['kind']>().toEqualTypeOf<'worker' | 'widget' | 'bearer'>()
  })

  it('narrows err.code and err.reason to string-literal unions', () => {
    expectTypeOf<KeywardError['code']>().toEqualTypeOf<KeywardCode>()
    expectTypeOf<'invalid_credentials'>().toExtend<KeywardCode>()
    expectTypeOf<'expected_key_empty'>().toExtend<KeywardReason>()
    expectTypeOf<'made_up_code'>().not.toExtend<KeywardCode>()
  })
})

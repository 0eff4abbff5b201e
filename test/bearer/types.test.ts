import type { Request } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type BearerAuth,
  type BearerStats,
  delegateBearerAuth,
  type Guard,
  httpValidator,
  type InactiveReason,
  type IntrospectionValidatorOptions,
  type KeywardReason,
  requireScopes,
  type TokenResult,
  type TokenValidator,
} from '../../src/index.js'
import type { AuthServiceFault, ContractPoint } from '../../src/testing/index.js'

describe('bearer types', () => {
  it('accepts a plain async function as a TokenValidator', () => {
    const validator = async (token: string): Promise<TokenResult> => ({ active: token.length > 0 })
    expectTypeOf(validator).toMatchTypeOf<TokenValidator>()
    expectTypeOf(delegateBearerAuth({ validator })).toEqualTypeOf<Guard<BearerAuth, BearerStats>>()
    expectTypeOf(delegateBearerAuth({ validator })).toExtend<Guard>()
  })

  it('narrows TokenResult on active', () => {
    const result = {} as TokenResult
    if (result.active) expectTypeOf(result.scopes).toEqualTypeOf<string[] | undefined>()
    else expectTypeOf(result.reason).toEqualTypeOf<InactiveReason | undefined>()
  })

  it('makes every InactiveReason a KeywardReason', () => {
    expectTypeOf<InactiveReason>().toMatchTypeOf<KeywardReason>()
  })

  it('types req.auth on Express requests with the bearer fields', () => {
    const req = {} as Request
    expectTypeOf(req.auth?.kind).toEqualTypeOf<'worker' | 'widget' | 'bearer' | undefined>()
    if (req.auth?.kind === 'bearer') {
      expectTypeOf(req.auth.scopes).toEqualTypeOf<string[]>()
      expectTypeOf(req.auth.keyId).toEqualTypeOf<string>()
      expectTypeOf(req.auth.expiresAt).toEqualTypeOf<Date | undefined>()
    }
  })

  it('restricts option unions to their documented values', () => {
    expectTypeOf<IntrospectionValidatorOptions['clientAuthentication']>().toEqualTypeOf<
      'client_secret_basic' | 'client_secret_post' | undefined
    >()
    expectTypeOf<AuthServiceFault>().toEqualTypeOf<'down' | 'slow' | 'error' | 'malformed' | 'reset'>()
    expectTypeOf<ContractPoint>().toMatchTypeOf<string>()
    // never called: only the compiler looks at it
    const missingValidator = () => {
      // @ts-expect-error a validator option must be given
      delegateBearerAuth({})
    }
    expectTypeOf(missingValidator).toBeFunction()
    // @ts-expect-error httpValidator needs a url
    expectTypeOf(httpValidator).toBeCallableWith({})
    expectTypeOf(requireScopes).toBeCallableWith('a', 'b')
    expectTypeOf(requireScopes).toBeCallableWith(['a'], { realm: 'api' })
  })
})

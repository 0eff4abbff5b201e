import { type KeywardCode, KeywardError, type KeywardReason } from '../src/index.js'

declare function expectType<T>(value: T): void
declare const error: unknown

if (KeywardError.is(error)) {
  expectType<KeywardCode>(error.code)
  expectType<KeywardReason>(error.reason)
  expectType<number>(error.status)
  switch (error.code) {
    case 'auth_unavailable':
    case 'server_misconfigured':
    case 'missing_credentials':
    case 'invalid_request':
    case 'invalid_credentials':
    case 'invalid_token':
    case 'forbidden_origin':
    case 'insufficient_scope':
      break
    default: {
      // every code is handled above: a new code must be added to this switch
      const unhandled: never = error.code
      expectType<never>(unhandled)
    }
  }
}

const code: KeywardCode = 'invalid_credentials'
expectType<KeywardCode>(code)
// @ts-expect-error not a code
const madeUp: KeywardCode = 'made_up_code'
expectType<KeywardCode>(madeUp)
const reason: KeywardReason = 'expected_key_empty'
expectType<KeywardReason>(reason)
// @ts-expect-error not a reason
const madeUpReason: KeywardReason = 'because'
expectType<KeywardReason>(madeUpReason)

import {
  type AnyOfGuard,
  type AuthenticateResult,
  anyOf,
  type BearerAuth,
  delegateBearerAuth,
  type Guard,
  type GuardStats,
  httpValidator,
  type KeywardError,
  requireWorkerKey,
  verifyWidgetKey,
  type WidgetAuth,
  type WorkerAuth,
} from '../src/index.js'

declare function expectType<T>(value: T): void
declare const incoming: import('node:http').IncomingMessage

const worker = requireWorkerKey({ keys: 'k' })
const widget = verifyWidgetKey({ records: async () => null })
const validator = httpValidator({ url: 'http://auth' })
const bearer = delegateBearerAuth({ validator })
const optionalBearer = delegateBearerAuth({ validator, credentialsRequired: false })

// each factory says what its req.auth is, and is still a Guard
expectType<Guard<WorkerAuth>>(worker)
expectType<Guard<WidgetAuth>>(widget)
expectType<Guard<BearerAuth>>(bearer)
expectType<Guard<BearerAuth | undefined>>(optionalBearer)
expectType<Guard>(worker)
// @ts-expect-error an optional bearer guard may let a request on without auth
expectType<Guard<BearerAuth>>(optionalBearer)

// authenticate() takes Node's request or a plain one, and resolves with a union on ok
void (async () => {
  const result = await worker.authenticate(incoming)
  if (result.ok) {
    expectType<WorkerAuth>(result.auth)
    // @ts-expect-error an accepted result has no error
    result.error
  } else {
    expectType<KeywardError>(result.error)
    // @ts-expect-error a refused result has no auth
    result.auth
  }
  const plain = await bearer.authenticate({
    method: 'GET',
    headers: { Authorization: 'Bearer t' },
    ip: '10.0.0.1',
  })
  expectType<AuthenticateResult<BearerAuth>>(plain)
  const optional = await optionalBearer.authenticate({ method: 'GET', headers: {} })
  if (optional.ok) expectType<BearerAuth | undefined>(optional.auth)
  // @ts-expect-error a plain request needs a method and headers
  await worker.authenticate({ headers: {} })
  // @ts-expect-error header values are strings or string arrays
  await worker.authenticate({ method: 'GET', headers: { 'x-worker-key': 42 } })
})

// anyOf's auth is the union of its guards'
const composed = anyOf(worker, bearer)
expectType<AnyOfGuard<WorkerAuth | BearerAuth>>(composed)
expectType<'anyOf'>(composed.middleware)
expectType<GuardStats[]>(composed.stats())
void (async () => {
  const result = await composed.authenticate(incoming)
  if (result.ok) {
    expectType<WorkerAuth | BearerAuth>(result.auth)
    // @ts-expect-error a widget guard is not among them
    expectType<WidgetAuth>(result.auth)
    if (result.auth.kind === 'bearer') expectType<string[]>(result.auth.scopes)
  }
})
anyOf({ onDecision: () => {}, onError: 'next' }, worker, widget)
// @ts-expect-error anyOf's options are the guards' observability and onError only
anyOf({ timeout: 5 }, worker)
// @ts-expect-error only guards compose
anyOf(worker, 'x-worker-key')

import type { Request } from 'express'
import type { BearerAuth, KeywardAuth, WidgetAuth, WorkerAuth } from '../src/index.js'

declare const req: Request
declare function expectType<T>(value: T): void

// req.auth is the union, narrowed by kind to the fields each guard always sets
expectType<KeywardAuth | undefined>(req.auth)
const auth = req.auth
if (auth !== undefined) {
  // @ts-expect-error scopes exist only on bearer auth
  auth.scopes
  switch (auth.kind) {
    case 'worker':
      expectType<WorkerAuth>(auth)
      expectType<string>(auth.keyId)
      // @ts-expect-error a worker key has no tenant
      auth.tenantId
      break
    case 'widget':
      expectType<string>(auth.tenantId)
      expectType<string>(auth.keyId)
      break
    case 'bearer':
      expectType<BearerAuth>(auth)
      expectType<string[]>(auth.scopes)
      expectType<Record<string, unknown>>(auth.claims)
      expectType<string | undefined>(auth.subject)
      expectType<Date | undefined>(auth.expiresAt)
      break
    default: {
      const none: never = auth
      expectType<never>(none)
    }
  }
}

// @ts-expect-error a widget auth always names its tenant
const noTenant: WidgetAuth = { kind: 'widget', keyId: 'r1' }
expectType<WidgetAuth>(noTenant)

// stats() has literal keys per guard, no index signature
import { delegateBearerAuth, requireWorkerKey, verifyWidgetKey } from '../src/index.js'

const workerStats = requireWorkerKey({ keys: 'k'.repeat(40) }).stats()
expectType<number>(workerStats.hits)
// @ts-expect-error a worker guard counts no hashes
workerStats.hashes
const widgetStats = verifyWidgetKey({ records: async () => null }).stats()
expectType<number>(widgetStats.hashesRefusedTenant)
const bearerStats = delegateBearerAuth({ validator: async () => ({ active: false }) }).stats()
expectType<number>(bearerStats.circuitOpens)
// @ts-expect-error not a counter
bearerStats.made_up_counter

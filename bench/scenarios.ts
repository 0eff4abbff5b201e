import type { BenchSetup } from './setup.js'

/** Where a row stands: the ceiling, keyward itself, the hand-written reference, or what users pick instead. */
export type ScenarioGroup = 'ceiling' | 'keyward' | 'reference' | 'peer'

export interface Scenario {
  /** Server module under `bench/servers/`. */
  id: string
  /** The row's name in the results table. */
  label: string
  group: ScenarioGroup
  /** What the client sends: fixed headers, and optionally headers that change per request. */
  request(setup: BenchSetup): { headers: Record<string, string>; vary?: () => Record<string, string> }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
// tenant ids of the cold row never repeat within a run, whichever round asks
let coldTenant = 0

/** Every row, in table order. `bare` is also run before and after each other row. */
export const scenarios: Scenario[] = [
  { id: 'bare', label: 'bare Express 5 (ceiling)', group: 'ceiling', request: () => ({ headers: {} }) },
  {
    // the same server in another process, measured like every other row: how far from 1.00 a
    // row lands when there is no difference at all
    id: 'bare-control',
    label: 'bare Express 5, second process (control)',
    group: 'ceiling',
    request: () => ({ headers: {} }),
  },
  {
    id: 'worker-key',
    label: '`requireWorkerKey`',
    group: 'keyward',
    request: (s) => ({ headers: { 'x-worker-key': s.workerKey } }),
  },
  {
    id: 'handwritten-sha256',
    label: 'hand-written SHA-256 + `timingSafeEqual` (reference)',
    group: 'reference',
    request: (s) => ({ headers: { 'x-worker-key': s.workerKey } }),
  },
  {
    id: 'widget-warm',
    label: '`verifyWidgetKey` warm (cache hit)',
    group: 'keyward',
    request: (s) => ({ headers: { 'x-widget-key': s.widgetKey, 'x-tenant-id': s.widgetTenant } }),
  },
  {
    id: 'widget-cold',
    label: '`verifyWidgetKey` cold (600 000-iteration PBKDF2 per request)',
    group: 'keyward',
    request: (s) => {
      // a tenant never seen before on every request: nothing cached, a full derivation each time
      return {
        headers: { 'x-widget-key': s.widgetKey },
        vary: () => ({ 'x-tenant-id': `cold-${coldTenant++}` }),
      }
    },
  },
  {
    id: 'bearer-http-cached',
    label: '`delegateBearerAuth` + `httpValidator`, cached',
    group: 'keyward',
    request: (s) => ({ headers: bearer(s.auth.opaqueToken) }),
  },
  {
    id: 'bearer-http-uncached',
    label: '`delegateBearerAuth` + `httpValidator`, `cacheTtl: 0`',
    group: 'keyward',
    request: (s) => ({ headers: bearer(s.auth.opaqueToken) }),
  },
  {
    id: 'bearer-jwt',
    label: '`delegateBearerAuth` + `jwtValidator` (local JWKS)',
    group: 'keyward',
    request: (s) => ({ headers: bearer(s.auth.jwt) }),
  },
  {
    id: 'passport-headerapikey',
    label: 'passport + passport-headerapikey',
    group: 'peer',
    request: (s) => ({ headers: { 'x-worker-key': s.workerKey } }),
  },
  {
    id: 'passport-http-bearer',
    label: 'passport + passport-http-bearer (in-memory token)',
    group: 'peer',
    request: (s) => ({ headers: bearer(s.auth.opaqueToken) }),
  },
  {
    id: 'express-basic-auth',
    label: 'express-basic-auth',
    group: 'peer',
    request: (s) => ({
      headers: { authorization: `Basic ${Buffer.from(`worker:${s.workerKey}`).toString('base64')}` },
    }),
  },
  {
    id: 'oauth2-jwt-bearer',
    label: 'express-oauth2-jwt-bearer (same JWT)',
    group: 'peer',
    request: (s) => ({ headers: bearer(s.auth.jwt) }),
  },
  {
    id: 'express-jwt',
    label: 'express-jwt + jwks-rsa (same JWT)',
    group: 'peer',
    request: (s) => ({ headers: bearer(s.auth.jwt) }),
  },
  {
    id: 'naive-delegated',
    label: 'naive delegated check (one auth-service call per request)',
    group: 'peer',
    request: (s) => ({ headers: bearer(s.auth.opaqueToken) }),
  },
  {
    id: 'naive-pbkdf2',
    label: 'naive widget check (PBKDF2 per request)',
    group: 'peer',
    request: (s) => ({ headers: { 'x-widget-key': s.widgetKey, 'x-tenant-id': s.widgetTenant } }),
  },
]

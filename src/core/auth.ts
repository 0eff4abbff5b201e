/** Set as `req.auth` by `requireWorkerKey`: a service presented one of the configured keys. */
export interface WorkerAuth {
  kind: 'worker'
  /** The matching key's configured `id`, or its fingerprint (never the key). */
  keyId: string
}

/** Set as `req.auth` by `verifyWidgetKey`: a tenant's widget key matched one of its records. */
export interface WidgetAuth {
  kind: 'widget'
  /** The tenant whose key matched. */
  tenantId: string
  /** The fingerprint of the record the key matched, so rotations can be told apart. */
  keyId: string
}

/** Set as `req.auth` by `delegateBearerAuth`: the validator accepted the bearer token. */
export interface BearerAuth {
  kind: 'bearer'
  /** The token's fingerprint (never the token). */
  keyId: string
  /** The token's scopes; empty when the validator named none. */
  scopes: string[]
  /** The claims the validator returned (members equal to the token are never kept). */
  claims: Record<string, unknown>
  /** The token's subject (`sub`), when the validator named one. */
  subject?: string
  /** When the token stops being valid, when the validator said. */
  expiresAt?: Date
}

/**
 * What a guard learnt about the caller; set as `req.auth` on success. Switch on `kind` to reach
 * the fields each guard always sets.
 */
export type KeywardAuth = WorkerAuth | WidgetAuth | BearerAuth

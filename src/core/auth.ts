/** What a guard learnt about the caller; set as `req.auth` on success. */
export interface KeywardAuth {
  kind: 'worker' | 'widget' | 'bearer'
  /** The matching key's configured id, or its fingerprint (never the key). */
  keyId?: string
  /** The tenant whose widget key matched. */
  tenantId?: string
  /** The token's subject (`sub`). */
  subject?: string
  /** The token's scopes. */
  scopes?: string[]
  /** All claims the validator returned. */
  claims?: Record<string, unknown>
  /** When the credential stops being valid. */
  expiresAt?: Date
}

/**
 * A push source of "drop this cached state" messages (Redis, Postgres, your own bus): a tenant
 * id for the widget guard, a token fingerprint for the bearer guard.
 */
export interface InvalidationSource {
  /** Calls `listener(id)` for each message, `listener()` to drop everything; returns unsubscribe. */
  subscribe(listener: (id?: string) => void): () => void
}

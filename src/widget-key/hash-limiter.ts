/** Which bound refused a derivation: the whole guard's, or the tenant's own share of it. */
export type HashBound = 'global' | 'tenant'

/** Thrown when more key derivations are asked for than a bound allows. */
export class HashingOverloadedError extends Error {
  override readonly name = 'HashingOverloadedError'
  constructor(readonly bound: HashBound) {
    super(
      bound === 'tenant'
        ? 'this tenant has its whole share of key derivations in flight'
        : 'every key derivation slot is in flight',
    )
  }
}

/**
 * Bounds how many key derivations run at once, overall and per tenant. Beyond a bound a request
 * is refused at once (503 with Retry-After) rather than queued: a flood of wrong keys must not
 * grow a queue whose wait every valid caller would share. The per-tenant share keeps one tenant's
 * flood (its id is public, its wrong keys cost a derivation each) from taking every slot: a
 * flooded tenant is refused beyond its share while the other tenants' slots stay free.
 */
export class HashLimiter {
  private inFlight = 0
  private peak = 0
  private refused = 0
  private refusedTenant = 0
  private total = 0
  /** Derivations in flight per tenant; a tenant with none has no entry, so this holds at most `max`. */
  private readonly perTenant = new Map<string, number>()

  constructor(
    readonly max: number,
    readonly maxPerTenant: number,
  ) {}

  async run<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    const tenantInFlight = this.perTenant.get(tenantId) ?? 0
    if (tenantInFlight >= this.maxPerTenant) {
      this.refusedTenant++
      throw new HashingOverloadedError('tenant')
    }
    if (this.inFlight >= this.max) {
      this.refused++
      throw new HashingOverloadedError('global')
    }
    this.inFlight++
    this.perTenant.set(tenantId, tenantInFlight + 1)
    this.total++
    if (this.inFlight > this.peak) this.peak = this.inFlight
    try {
      return await work()
    } finally {
      this.inFlight--
      const left = (this.perTenant.get(tenantId) ?? 1) - 1
      if (left === 0) this.perTenant.delete(tenantId)
      else this.perTenant.set(tenantId, left)
    }
  }

  stats() {
    return {
      hashesInFlight: this.inFlight,
      hashesPeak: this.peak,
      hashes: this.total,
      hashesRefused: this.refused + this.refusedTenant,
      hashesRefusedTenant: this.refusedTenant,
      hashingTenants: this.perTenant.size,
    }
  }
}

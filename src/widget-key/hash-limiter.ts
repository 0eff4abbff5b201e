/** Thrown when more PBKDF2 derivations are asked for than the bound allows. */
export class HashingOverloadedError extends Error {
  override readonly name = 'HashingOverloadedError'
}

/**
 * Bounds how many PBKDF2 derivations run at once. Beyond the bound a request is refused at once
 * (503 with Retry-After) rather than queued: a flood of wrong keys must not grow a queue whose
 * wait every valid caller would share.
 */
export class HashLimiter {
  private inFlight = 0
  private peak = 0
  private refused = 0
  private total = 0

  constructor(readonly max: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.max) {
      this.refused++
      throw new HashingOverloadedError(`more than ${this.max} key derivations in flight`)
    }
    this.inFlight++
    this.total++
    if (this.inFlight > this.peak) this.peak = this.inFlight
    try {
      return await work()
    } finally {
      this.inFlight--
    }
  }

  stats() {
    return {
      hashesInFlight: this.inFlight,
      hashesPeak: this.peak,
      hashes: this.total,
      hashesRefused: this.refused,
    }
  }
}

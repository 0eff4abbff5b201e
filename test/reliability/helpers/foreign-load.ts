import { readFileSync } from 'node:fs'

/**
 * CPU used on this machine by processes other than the benchmark's own, from /proc: the
 * machine's busy time minus that of the benchmark's processes. A run during which something
 * else (a build, a test suite) took a real share of the two cores is not a measurement of the
 * middleware, so the orchestrator waits for quiet and repeats such runs.
 */
export class ForeignLoad {
  private readonly available: boolean
  private readonly ticksPerSecond = 100

  constructor(private readonly pids: () => number[]) {
    let ok = false
    try {
      readFileSync('/proc/stat', 'utf8')
      ok = true
    } catch {
      // not Linux: no check, every run counts
    }
    this.available = ok
  }

  /** A reading to pass to {@link coresSince}. */
  sample(): { at: number; busy: number; ours: number } {
    if (!this.available) return { at: performance.now(), busy: 0, ours: 0 }
    return {
      at: performance.now(),
      busy: machineBusyTicks(),
      ours: this.pids().reduce((sum, pid) => sum + processTicks(pid), 0),
    }
  }

  /** Cores' worth of CPU taken by others since `start` (0.25 = a quarter of one core). */
  coresSince(start: { at: number; busy: number; ours: number }): number {
    if (!this.available) return 0
    const end = this.sample()
    const seconds = (end.at - start.at) / 1000
    const foreign = end.busy - start.busy - (end.ours - start.ours)
    return Math.max(0, foreign / this.ticksPerSecond / seconds)
  }

  /** Waits (at most `maxMs`) until others use less than `limit` cores over a 1 s window; returns the wait, ms. */
  async quiet(limit: number, maxMs: number): Promise<number> {
    const startedAt = performance.now()
    while (performance.now() - startedAt < maxMs) {
      const start = this.sample()
      await new Promise((resolve) => setTimeout(resolve, 1000))
      if (this.coresSince(start) < limit) break
    }
    return performance.now() - startedAt
  }
}

function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
  // cpu user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return user! + nice! + system! + irq! + softirq! + steal!
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name may contain spaces: fields are counted after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

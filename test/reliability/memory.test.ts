/**
 * Memory under a flood of distinct bad credentials, bounded: the benchmark's memory flood
 * (bench/memory.ts, a million per middleware there) run shorter — KEYWARD_MEMORY_COUNT
 * (default 100 000) distinct invalid tokens, wrong widget keys and wrong worker keys — with
 * caches at a tenth of their default bounds so that they fill in the first tenth of the flood.
 * Once full, the heap (after GC) must stop growing: no map anywhere grows with the number of
 * distinct inputs.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { MemoryReport } from '../../bench/memory.js'

const COUNT = Number(process.env.KEYWARD_MEMORY_COUNT ?? 100_000)
/** Growth allowed over the last three quarters of the flood, MB: GC noise, not a leak. */
const LATE_GROWTH_LIMIT_MB = 2
/** Growth allowed over the whole flood, MB, per middleware: its caches filling to their bounds. */
const GROWTH_LIMIT_MB: Record<string, number> = {
  delegateBearerAuth: 8,
  verifyWidgetKey: 16,
  requireWorkerKey: 1,
}

describe(`memory under ${COUNT.toLocaleString('en')} distinct bad credentials per middleware`, () => {
  it('stays within the caches\u2019 bounds: the heap stops growing once they are full', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-memory-'))
    const file = join(dir, 'memory.json')
    try {
      const script = fileURLToPath(new URL('../../bench/memory.ts', import.meta.url))
      await promisify(execFile)(
        process.execPath,
        [
          '--expose-gc',
          '--import',
          'tsx',
          script,
          '--count',
          String(COUNT),
          '--bounds',
          'small',
          '--json',
          file,
        ],
        { timeout: 150_000 },
      )
      const reports = JSON.parse(readFileSync(file, 'utf8')) as MemoryReport[]
      for (const report of reports) {
        console.log(
          `${report.name}: ${report.sent.toLocaleString('en')} sent, heap ${report.heapBeforeMb.toFixed(1)} -> ${report.checkpoints.at(-1)!.heapMb.toFixed(1)} MB (growth ${report.growthMb.toFixed(1)} MB, last three quarters ${report.lateGrowthMb.toFixed(1)} MB), ${report.bound}`,
        )
        expect(report.sent).toBe(COUNT)
        expect(report.statuses['200'] ?? 0, `${report.name}: a bad credential was accepted`).toBe(0)
        expect(report.lateGrowthMb, `${report.name}: growth after the caches filled`).toBeLessThan(
          LATE_GROWTH_LIMIT_MB,
        )
        expect(report.growthMb, `${report.name}: total growth`).toBeLessThan(
          GROWTH_LIMIT_MB[report.name] ?? 1,
        )
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

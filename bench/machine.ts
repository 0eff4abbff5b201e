import { readFileSync } from 'node:fs'
import os from 'node:os'

/** The machine a run was measured on, as the results state it. */
export interface Machine {
  nproc: number
  cpu: string
  node: string
  os: string
  memoryGb: number
  date: string
}

export function describeMachine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown'
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'))
    if (line) cpu = line.split(':')[1]!.trim()
  } catch {
    // not Linux: os.cpus() has the model too
  }
  return {
    nproc: os.availableParallelism(),
    cpu,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    date: new Date().toISOString(),
  }
}

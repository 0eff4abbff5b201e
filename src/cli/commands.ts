import type { Command } from './io.js'

/** The bin's commands, each loaded only when run. */
export const commands: Record<string, { summary: string; load: () => Promise<{ run: Command }> }> = {}

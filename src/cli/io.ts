/** What a command reads and writes; the bin passes the process's streams, tests pass their own. */
export interface CliIO {
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
  /** Reads all of standard input (for a key piped in). */
  readStdin(): Promise<string>
  env: NodeJS.ProcessEnv
}

/** A command of the `keyward` bin: returns the exit code. */
export type Command = (args: string[], io: CliIO) => Promise<number>

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, mismatch: 1, badInput: 2 } as const

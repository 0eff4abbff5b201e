/**
 * Argument handling shared by the commands. Whatever a user typed may be a key or a token pasted
 * in the wrong place, so no message built here repeats a value: it names the argument and says
 * what is wrong with it.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

/** What a file argument is expected to hold, for the hint when its value is not a path. */
export type Holds = 'key' | 'token' | 'record'

/**
 * Whether `value` looks like a credential rather than a file path: a known key or token prefix,
 * a JWT, or a long run of key characters with no path separator and no file extension.
 */
export function looksLikeSecret(value: string): boolean {
  if (/^(?:wid_|wk_|hk_(?:live|test)_|kwt_|sk_|pk_|ghp_|gho_|xox[abp]-|eyJ)/.test(value)) return true
  if (/^[\w-]{8,}\.[\w-]{8,}\.[\w-]*$/.test(value)) return true
  if (value.length < 20 || value.includes('/') || /\.[A-Za-z0-9]{1,5}$/.test(value)) return false
  return /^[A-Za-z0-9_\-+=~]+$/.test(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value)
}

/** Reads the file an option names; on failure the problem, naming the option but never its value. */
export async function readFileArgument(
  option: string,
  path: string,
  holds: Holds,
): Promise<{ text: string } | { error: string }> {
  if (path === '') return { error: `${option}: the path is empty` }
  try {
    return { text: await readFile(path, 'utf8') }
  } catch (error) {
    const code = (error as { code?: string }).code
    const hint = looksLikeSecret(path)
      ? ` (the value looks like a ${holds === 'record' ? 'key or token' : holds}, not a path — pass the path of a file holding the ${holds})`
      : ''
    if (code === 'ENOENT' || code === 'ENOTDIR') return { error: `${option}: no such file${hint}` }
    if (code === 'ENAMETOOLONG') return { error: `${option}: not a usable file path${hint}` }
    if (code === 'EISDIR') return { error: `${option}: names a directory, not a file` }
    if (code === 'EACCES' || code === 'EPERM') return { error: `${option}: permission denied` }
    return { error: `${option}: cannot read the file${code ? ` (${code})` : ''}` }
  }
}

/** An option name safe to repeat: lowercase words joined by dashes, as every real option is. */
const OPTION_NAME = /^--?[a-z]+(?:-[a-z]+)*$/

/**
 * The problem with the arguments, from a `parseArgs` error. Its own message quotes the offending
 * argument (which may be a key); here only an option name is repeated, and only when it reads as
 * one. `positionalHint` says where the value belongs instead.
 */
export function argumentProblem(error: unknown, positionalHint: string): string {
  const code = (error as { code?: string }).code
  const quoted = /'(-[^'\s]*)/.exec(error instanceof Error ? error.message : '')?.[1]
  const option = quoted !== undefined && quoted.length <= 32 && OPTION_NAME.test(quoted) ? ` ${quoted}` : ''
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option${option}`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return `option${option} is missing its value, or takes none`
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument (${positionalHint})`
  return 'invalid arguments'
}

/** The message for `--key` / `--token`, which are refused rather than read: the value would be in shell history. */
export function refusedInline(args: readonly string[], names: readonly string[]): string | undefined {
  const used = names.find((name) => args.some((arg) => arg === name || arg.startsWith(`${name}=`)))
  if (used === undefined) return undefined
  return `${used} is not accepted: a value on the command line ends up in shell history and process lists. Use ${used}-file FILE or standard input.`
}

/** A command's options, as `node:util` `parseArgs` takes them. */
export type CommandOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>

/** How a command reports bad input: its name in the message, and where `--help` is. */
export function usageError(
  command: string,
  io: { stderr: { write(text: string): unknown } },
  message: string,
): number {
  io.stderr.write(`keyward ${command}: ${message}\nRun "keyward ${command} --help" for usage.\n`)
  return 2
}

/**
 * Parses a command's options strictly (no positionals) and answers `--help`: the values, or the
 * exit status to return (0 after printing the usage, 2 for bad input, named without its value).
 */
export function parseCommand<V>(
  command: string,
  args: string[],
  options: CommandOptions,
  io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } },
  usage: string,
  positionalHint = 'this command takes only options',
): { values: V } | { exit: number } {
  let values: V & { help?: boolean }
  try {
    values = parseArgs({ args, strict: true, allowPositionals: false, options }).values as V & {
      help?: boolean
    }
  } catch (error) {
    return { exit: usageError(command, io, argumentProblem(error, positionalHint)) }
  }
  if (values.help) {
    io.stdout.write(usage)
    return { exit: 0 }
  }
  return { values }
}

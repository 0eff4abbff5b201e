import { fingerprint } from '../core/fingerprint.js'
import { parseCommand, readFileArgument, refusedInline, usageError } from './args.js'
import { type Command, EXIT } from './io.js'

const USAGE = `keyward fingerprint - print the fingerprint of a key or token, as decision events show it

Usage:
  keyward fingerprint --key-file FILE
  printf '%s' "$KEY" | keyward fingerprint

Options:
  --key-file FILE   read the key (or token) from FILE instead of standard input
  -h, --help        show this help

Prints kw_ and 12 hex characters: the same value as the keyFingerprint of a decision event, the
"key:" line of keyward doctor and the fingerprint keyward create-widget-key prints. Compare it
with the one in your logs to learn whether a caller sent the key you think it did.

The key is read exactly as keyward doctor reads it: byte for byte, from FILE or standard input,
with nothing trimmed. A trailing newline (from echo, or an editor saving FILE) is part of what is
fingerprinted, because a caller that sends it sends a different key. When the input starts or
ends with whitespace, a note on standard error says so and gives the fingerprint of the text
without it; pipe with printf '%s', not echo, to leave the newline out.

The key itself is never printed, and is not accepted on the command line, where shell history
would keep it.

Exit status: 0 printed; 2 bad usage, or no key to read.
`

/** `keyward fingerprint`: prints `fingerprint()` of a key read from a file or standard input. */
export const run: Command = async (args, io) => {
  const inline = refusedInline(args, ['--key'])
  if (inline !== undefined) return usageError('fingerprint', io, inline)
  const parsed = parseCommand<{ 'key-file'?: string; help?: boolean }>(
    'fingerprint',
    args,
    {
      'key-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    io,
    USAGE,
    'this command takes only options; pass the key with --key-file or on standard input',
  )
  if ('exit' in parsed) return parsed.exit
  const { values } = parsed

  let key: string
  if (values['key-file'] !== undefined) {
    const read = await readFileArgument('--key-file', values['key-file'], 'key')
    if ('error' in read) return usageError('fingerprint', io, read.error)
    key = read.text
    if (key.length === 0) return usageError('fingerprint', io, '--key-file: the file is empty')
  } else {
    key = await io.readStdin()
    if (key.length === 0)
      return usageError('fingerprint', io, 'no key: pass --key-file FILE, or pipe the key on standard input')
  }

  io.stdout.write(`${fingerprint(key)}\n`)
  const trimmed = key.trim()
  if (trimmed !== key) {
    const lineEnd = /\r?\n$/.exec(key)?.[0]
    const onlyLineEnd = lineEnd !== undefined && key.slice(0, -lineEnd.length) === trimmed
    const edges = [/^\s/.test(key) ? 'starts' : '', /\s$/.test(key) ? 'ends' : ''].filter(Boolean)
    const what = onlyLineEnd ? 'ends with a newline' : `${edges.join(' and ')} with whitespace`
    io.stderr.write(
      `keyward fingerprint: note: the input ${what}, fingerprinted as part of the key` +
        (trimmed === '' ? '\n' : `; without it: ${fingerprint(trimmed)}\n`),
    )
  }
  return EXIT.ok
}

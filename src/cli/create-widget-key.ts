import { createWidgetKey, DEFAULT_WIDGET_KEY_PREFIX } from '../widget-key/keys.js'
import { formatHashRecord } from '../widget-key/records/format.js'
import type { OutputFormat, Pbkdf2Digest } from '../widget-key/records/types.js'
import { parseCommand, usageError } from './args.js'
import { type Command, EXIT } from './io.js'

const USAGE = `keyward create-widget-key - print a new widget key and the PBKDF2 record to store for it

Usage:
  keyward create-widget-key [--prefix P] [--iterations N] [--digest D] [--format F] [--json]

Options:
  --prefix P        text the key starts with (default ${DEFAULT_WIDGET_KEY_PREFIX})
  --iterations N    PBKDF2 iterations (default 600000, OWASP 2023 for PBKDF2-HMAC-SHA256)
  --digest D        sha256 (default), sha512 or sha1
  --format F        how to print the record: json (default; {hash, salt, iterations, digest}
                    with hex fields), object (the same, indented) or phc ($pbkdf2-sha256$i=N,l=32$salt$hash)
  --json            print {"key", "fingerprint", "record"} as one JSON object instead
  -h, --help        show this help

The key is printed once: give it to the tenant and store only the record. It cannot be
recovered from the record. The record reads back with keyward's default options
(saltEncoding "hex"); the key ends in a checksum that lets a server refuse mistyped keys early.
`

const FORMATS: readonly OutputFormat[] = ['json', 'object', 'phc']
const DIGESTS: readonly Pbkdf2Digest[] = ['sha256', 'sha512', 'sha1']

/** `keyward create-widget-key`: prints a new key, its fingerprint and its record. */
export const run: Command = async (args, io) => {
  const parsed = parseCommand<{
    prefix?: string
    iterations?: string
    digest?: string
    format?: string
    json?: boolean
    help?: boolean
  }>(
    'create-widget-key',
    args,
    {
      prefix: { type: 'string' },
      iterations: { type: 'string' },
      digest: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    io,
    USAGE,
  )
  if ('exit' in parsed) return parsed.exit
  const { values } = parsed
  const format = (values.format ?? 'json') as OutputFormat
  if (!FORMATS.includes(format))
    return usageError('create-widget-key', io, '--format must be json, object or phc')
  const digest = (values.digest ?? 'sha256') as Pbkdf2Digest
  if (!DIGESTS.includes(digest))
    return usageError('create-widget-key', io, '--digest must be sha256, sha512 or sha1')
  let iterations: number | undefined
  if (values.iterations !== undefined) {
    if (!/^[1-9][0-9]*$/.test(values.iterations))
      return usageError('create-widget-key', io, '--iterations must be a positive whole number')
    iterations = Number(values.iterations)
  }

  let created: Awaited<ReturnType<typeof createWidgetKey>>
  try {
    created = await createWidgetKey({
      digest,
      ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
      ...(iterations === undefined ? {} : { iterations }),
    })
  } catch (error) {
    if (error instanceof TypeError) return usageError('create-widget-key', io, optionProblem(error.message))
    throw error
  }
  const record = formatHashRecord(created.record, format)
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ key: created.key, fingerprint: created.fingerprint, record })}\n`)
    return EXIT.ok
  }
  const recordText = typeof record === 'string' ? record : JSON.stringify(record, null, 2)
  io.stdout.write(
    `key:         ${created.key}\nfingerprint: ${created.fingerprint}\nrecord:      ${recordText}\n`,
  )
  io.stderr.write('The key is shown only this once: give it to the tenant, store only the record.\n')
  return EXIT.ok
}

/** The library's message as a CLI option's problem, without the value it quotes: that may be a pasted key. */
function optionProblem(message: string): string {
  const problem = message
    .replace(/^(?:createWidgetKey|hashWidgetKey): /, '')
    .replace(/; got .*$/s, '')
    .replace(/^"(prefix|iterations|digest)"/, '--$1')
  return problem
}

import { diagnose } from '../widget-key/diagnose.js'
import type { Diagnosis, MatchHint } from '../widget-key/diagnosis.js'
import type { HashEncoding, SaltEncoding } from '../widget-key/records/types.js'
import { parseCommand, readFileArgument, refusedInline, usageError } from './args.js'
import { type Command, EXIT } from './io.js'

const USAGE = `keyward doctor - explain why a widget key does or does not match a PBKDF2 hash record

Usage:
  keyward doctor --key-file FILE (--record RECORD | --record-file FILE) [options]
  printf '%s' "$KEY" | keyward doctor --record RECORD [options]

Options:
  --key-file FILE       read the key from FILE, byte for byte (a trailing newline counts: the
                        doctor reports it). Without this option the key is read from standard
                        input, also exactly: use printf '%s', not echo, to pipe it.
  --record RECORD       the record as stored: a JSON object, or a PHC, passlib, Django or
                        werkzeug string (quote it: it contains "$")
  --record-file FILE    read the record from FILE instead
  --salt-encoding ENC   how an object record's salt text is read: hex (default), utf8, base64, base64url
  --hash-encoding ENC   how an object record's hash text is read: hex, base64, base64url (default: detected)
  --json                print the diagnosis as JSON
  -h, --help            show this help

The doctor tries the one change that would make the key match: whitespace around the key,
a record hashed from the key plus a newline, letter case, other salt and hash readings,
other digests and iteration counts. It never prints the key, only its fingerprint and length;
the key is not accepted on the command line, where shell history would keep it.

Exit status: 0 the key matches; 1 it does not, or the record is invalid; 2 bad usage or unreadable input.
`

const SALT_ENCODINGS: readonly SaltEncoding[] = ['hex', 'utf8', 'base64', 'base64url']
const HASH_ENCODINGS: readonly HashEncoding[] = ['hex', 'base64', 'base64url']

interface DoctorArgs {
  'key-file'?: string
  record?: string
  'record-file'?: string
  'salt-encoding'?: string
  'hash-encoding'?: string
  json?: boolean
  help?: boolean
}

/** `keyward doctor`: diagnoses a key against a record; exit 0 match, 1 mismatch or invalid record, 2 bad input. */
export const run: Command = async (args, io) => {
  const inline = refusedInline(args, ['--key'])
  if (inline !== undefined) return usageError('doctor', io, inline)
  const parsed = parseCommand<DoctorArgs>(
    'doctor',
    args,
    {
      'key-file': { type: 'string' },
      record: { type: 'string' },
      'record-file': { type: 'string' },
      'salt-encoding': { type: 'string' },
      'hash-encoding': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    io,
    USAGE,
    'this command takes only options; pass the key with --key-file or on standard input',
  )
  if ('exit' in parsed) return parsed.exit
  const { values } = parsed

  const saltEncoding = values['salt-encoding']
  if (saltEncoding !== undefined && !(SALT_ENCODINGS as readonly string[]).includes(saltEncoding)) {
    return usageError('doctor', io, `--salt-encoding must be one of ${SALT_ENCODINGS.join(', ')}`)
  }
  const hashEncoding = values['hash-encoding']
  if (hashEncoding !== undefined && !(HASH_ENCODINGS as readonly string[]).includes(hashEncoding)) {
    return usageError('doctor', io, `--hash-encoding must be one of ${HASH_ENCODINGS.join(', ')}`)
  }
  if ((values.record === undefined) === (values['record-file'] === undefined)) {
    return usageError(
      'doctor',
      io,
      'pass the record with exactly one of --record RECORD and --record-file FILE',
    )
  }

  let record: string
  if (values.record !== undefined) {
    record = values.record
  } else {
    const read = await readFileArgument('--record-file', values['record-file']!, 'record')
    if ('error' in read) return usageError('doctor', io, read.error)
    record = read.text
  }

  let key: string
  if (values['key-file'] !== undefined) {
    const read = await readFileArgument('--key-file', values['key-file'], 'key')
    if ('error' in read) return usageError('doctor', io, read.error)
    key = read.text
  } else {
    key = await io.readStdin()
    if (key.length === 0)
      return usageError('doctor', io, 'no key: pass --key-file FILE, or pipe the key on standard input')
  }

  const diagnosis = await diagnose(key, record, {
    ...(saltEncoding === undefined ? {} : { saltEncoding: saltEncoding as SaltEncoding }),
    ...(hashEncoding === undefined ? {} : { hashEncoding: hashEncoding as HashEncoding }),
  })
  io.stdout.write(values.json ? `${JSON.stringify(diagnosis, null, 2)}\n` : report(diagnosis))
  return diagnosis.match ? EXIT.ok : EXIT.mismatch
}

/** The human-readable report: fingerprints, lengths and parameters only. */
function report(diagnosis: Diagnosis): string {
  const { key, record, recordError } = diagnosis
  const keyFacts = [`${key.fingerprint}`, `${key.length} characters`]
  if (key.leadingWhitespace) keyFacts.push('leading whitespace')
  if (key.trailingWhitespace) keyFacts.push('trailing whitespace')
  const lines = [`key:       ${keyFacts.join(', ')}`]
  if (record) {
    lines.push(
      `record:    ${record.format}, ${record.parameters}${record.digestStated ? '' : ' (digest assumed: none in the record)'}, salt ${record.saltBytes} bytes (${record.saltEncoding}), hash ${record.dkLen} bytes (${record.hashEncoding}), ${record.fingerprint}`,
    )
  } else if (recordError) {
    lines.push(`record:    invalid (${recordError.field}: ${recordError.problem})`)
  }
  lines.push(`result:    ${diagnosis.match ? 'match' : `no match: ${diagnosis.tag}`}`)
  if (diagnosis.wouldMatchWith) lines.push(`fix:       ${describeHint(diagnosis.wouldMatchWith)}`)
  lines.push('', diagnosis.explanation, '')
  return lines.join('\n')
}

function describeHint(hint: MatchHint): string {
  if ('key' in hint)
    return `key changed by ${hint.key.change} (${hint.key.fingerprint}, ${hint.key.length} characters)`
  if ('iterations' in hint) return `iterations ${hint.iterations}`
  if ('digest' in hint) return `digest ${hint.digest}`
  if ('saltInterpretation' in hint) {
    return `salt read as ${hint.saltInterpretation} (--salt-encoding ${hint.encoding.salt}; hash ${hint.encoding.hash})`
  }
  return `hash read as ${hint.hashEncoding} (--hash-encoding ${hint.hashEncoding})`
}

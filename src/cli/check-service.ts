import { parseArgs } from 'node:util'
import { checkAuthServiceContract, formatContractReport } from '../testing/contract-check.js'
import { argumentProblem, readFileArgument } from './args.js'
import { type Command, EXIT } from './io.js'

/** One line for `keyward --help`. */
export const summary = 'check a live auth service against the httpValidator contract'

const USAGE = `keyward check-service --url <url> --valid-token-file <file> --invalid-token-file <file>

Checks that the auth service at <url> follows the contract keyward's httpValidator relies on:
the token in "Authorization: Bearer", a JSON answer with "valid" or "active", 401/403 for a bad
or missing token. If the service only accepts the token in the JSON body, it says so (F4).

Tokens are read from files (never from the command line, where they would land in shell
history and process lists) and are never printed.

Options:
  --url <url>                  the validation endpoint, e.g. https://auth.internal/validate
  --valid-token-file <file>    a file holding a token the service should accept
  --invalid-token-file <file>  a file holding a token the service should refuse
  --service-id <id>            sent as service_id (default keyward-check-service)
  --timeout <ms>               longest wait for each answer (default 5000)
  --json                       print the report as JSON

Exit status: 0 every point met, 1 some point not met, 2 bad input.
`

/** `keyward check-service`: exit 0 when the service meets every contract point, 1 otherwise, 2 for bad input. */
export const run: Command = async (args, io) => {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({
      args,
      options: {
        url: { type: 'string' },
        'valid-token-file': { type: 'string' },
        'invalid-token-file': { type: 'string' },
        'service-id': { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    io.stderr.write(
      `keyward check-service: ${argumentProblem(error, 'this command takes only options; put each token in a file and pass its path with --valid-token-file or --invalid-token-file')}\n\n${USAGE}`,
    )
    return EXIT.badInput
  }
  if (values.help) {
    io.stdout.write(USAGE)
    return EXIT.ok
  }
  const missing = ['url', 'valid-token-file', 'invalid-token-file'].filter(
    (name) => typeof values[name] !== 'string',
  )
  if (missing.length > 0) {
    io.stderr.write(
      `keyward check-service: missing ${missing.map((name) => `--${name}`).join(', ')}\n\n${USAGE}`,
    )
    return EXIT.badInput
  }
  const url = values.url as string
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http')
  } catch {
    io.stderr.write(
      'keyward check-service: --url must be an absolute http(s) URL such as https://auth.internal/validate\n',
    )
    return EXIT.badInput
  }
  let timeout = 5000
  if (values.timeout !== undefined) {
    timeout = Number(values.timeout)
    if (!Number.isFinite(timeout) || timeout <= 0) {
      io.stderr.write('keyward check-service: --timeout must be a positive number of milliseconds\n')
      return EXIT.badInput
    }
  }
  const validToken = await readToken(values['valid-token-file'] as string, '--valid-token-file', io)
  const invalidToken = await readToken(values['invalid-token-file'] as string, '--invalid-token-file', io)
  if (validToken === undefined || invalidToken === undefined) return EXIT.badInput
  if (validToken === invalidToken) {
    io.stderr.write('keyward check-service: the valid and invalid token files hold the same token\n')
    return EXIT.badInput
  }

  const report = await checkAuthServiceContract(url, {
    validToken,
    invalidToken,
    timeout,
    ...(typeof values['service-id'] === 'string' ? { serviceId: values['service-id'] } : {}),
  })
  io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatContractReport(report))
  return report.ok ? EXIT.ok : EXIT.mismatch
}

async function readToken(
  file: string,
  option: string,
  io: Parameters<Command>[1],
): Promise<string | undefined> {
  const read = await readFileArgument(option, file, 'token')
  if ('error' in read) {
    io.stderr.write(`keyward check-service: ${read.error}\n`)
    return undefined
  }
  // a trailing newline from `echo > file` is not part of the token
  const token = read.text.trim()
  if (token === '') {
    io.stderr.write(`keyward check-service: ${option}: the file is empty\n`)
    return undefined
  }
  if (/\s/.test(token)) {
    io.stderr.write(
      `keyward check-service: ${option}: the file holds more than one line or word; put only the token in it\n`,
    )
    return undefined
  }
  return token
}

import { readFileSync } from 'node:fs'
import { commands } from './commands.js'
import type { CliIO } from './io.js'

function usage(): string {
  const lines = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(20)}${summary}`)
  return `keyward <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "keyward <command> --help" for a command's options.\n`
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return ''
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  const io: CliIO = { stdout: process.stdout, stderr: process.stderr, readStdin, env: process.env }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage())
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    io.stdout.write(`${pkg.version}\n`)
    return 0
  }
  const command = commands[name]
  if (!command) {
    // the first argument may be a key pasted in the wrong place: a command name is repeated only if it reads as one
    const shown = /^[a-z]+(?:-[a-z]+)*$/.test(name) && name.length <= 32 ? ` "${name}"` : ''
    io.stderr.write(`keyward: unknown command${shown}\n\n${usage()}`)
    return 2
  }
  const { run } = await command.load()
  return run(args, io)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    // an unexpected error's message may quote input; only its class and code are shown
    const { name = 'Error', code } = (error ?? {}) as { name?: string; code?: string }
    process.stderr.write(`keyward: unexpected ${name}${code ? ` (${code})` : ''}\n`)
    process.exitCode = 2
  },
)

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
    io.stderr.write(`keyward: unknown command "${name}"\n\n${usage()}`)
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
    process.stderr.write(`keyward: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 2
  },
)

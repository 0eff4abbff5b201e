/**
 * A tiny client for the example: `npx tsx examples/websocket/client.ts <url> ["Header: value"]...`
 * prints the refusal (status, headers, body) or the greeting and the echo of one message.
 */
import WebSocket from 'ws'

const [url, ...headerArgs] = process.argv.slice(2)
if (url === undefined) {
  console.error('usage: client.ts ws://127.0.0.1:3200/ws/worker "X-Worker-Key: ..."')
  process.exit(2)
}
const headers: Record<string, string> = {}
for (const arg of headerArgs) {
  const colon = arg.indexOf(':')
  if (colon > 0) headers[arg.slice(0, colon).trim()] = arg.slice(colon + 1).trim()
}

const socket = new WebSocket(url, { headers })
socket.on('unexpected-response', (_req, res) => {
  let body = ''
  res.on('data', (chunk) => (body += chunk))
  res.on('end', () => {
    console.log(`refused: ${res.statusCode}`)
    for (const name of ['www-authenticate', 'retry-after']) {
      if (res.headers[name]) console.log(`  ${name}: ${res.headers[name]}`)
    }
    console.log(`  ${body}`)
    process.exitCode = 1
  })
})
socket.on('open', () => socket.send('ping'))
let received = 0
socket.on('message', (data) => {
  console.log(received === 0 ? `accepted: ${String(data)}` : `echo: ${String(data)}`)
  if (++received === 2) socket.close()
})
socket.on('error', (error) => {
  if (process.exitCode !== 1)
    console.error(`connection failed: ${(error as { code?: string }).code ?? error.name}`)
})

import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runtimeApp, widgetPage } from '../../examples/widget-runtime/apps.js'
import { createWidgetKey, type DecisionEvent, formatHashRecord } from '../../src/index.js'
import { memoryRecordStore } from '../../src/testing/memory-record-store.js'
import { secret } from '../helpers/secrets.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const available = existsSync(CHROMIUM)
if (!available && process.env.CI) {
  throw new Error(
    `Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (.ci/run does)`,
  )
}

function listen(app: {
  listen: (port: number, host: string, cb: () => void) => Server
}): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
    })
  })
}

describe.skipIf(!available)('a widget page in Chromium calling the runtime on another origin', () => {
  const store = memoryRecordStore()
  const servers: Server[] = []
  const events: DecisionEvent[] = []
  let browser: Browser
  let runtimeUrl: string
  let allowedPage: string
  let otherPage: string
  let key: string

  beforeAll(async () => {
    const runtime = runtimeApp({ store })
    const diagnostics = await import('node:diagnostics_channel')
    diagnostics.subscribe('keyward:decision', (e) => events.push(e as DecisionEvent))
    const started = await listen(runtime.app)
    runtimeUrl = started.url
    const allowed = await listen(widgetPage(runtimeUrl))
    const other = await listen(widgetPage(runtimeUrl))
    servers.push(started.server, allowed.server, other.server)
    allowedPage = allowed.url
    otherPage = other.url
    const created = await createWidgetKey({ iterations: 1_000 })
    key = secret(created.key)
    store.set('acme', { record: formatHashRecord(created.record, 'phc'), origins: [allowedPage] })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    for (const server of servers) server.close()
  })

  async function loadFrom(pageUrl: string, tenant: string, widgetKey: string) {
    const page = await browser.newPage()
    try {
      await page.goto(pageUrl)
      return await page.evaluate(
        ([t, k]) =>
          (
            globalThis as unknown as {
              loadWidget: (t: string, k: string) => Promise<{ status: number; body: string }>
            }
          ).loadWidget(t as string, k as string),
        [tenant, widgetKey],
      )
    } finally {
      await page.close()
    }
  }

  it('gets the widget config with the right key, after a preflight the guard lets through', async () => {
    events.length = 0
    const result = await loadFrom(allowedPage, 'acme', key)
    expect(result.status).toBe(200)
    expect(JSON.parse(result.body)).toMatchObject({ tenant: 'acme' })
    // the preflight (OPTIONS, no key) never reached a decision: only the GET did
    expect(events.filter((e) => e.middleware === 'verifyWidgetKey')).toHaveLength(1)
  })

  it('is refused with a wrong key', async () => {
    const wrong = secret((await createWidgetKey({ iterations: 1_000 })).key)
    const result = await loadFrom(allowedPage, 'acme', wrong)
    expect(result.status).toBe(401)
    expect(JSON.parse(result.body).code).toBe('invalid_credentials')
  })

  it('is refused from a page on an origin the tenant did not allow', async () => {
    const result = await loadFrom(otherPage, 'acme', key)
    expect(result.status).toBe(403)
    expect(JSON.parse(result.body).code).toBe('forbidden_origin')
  })
})

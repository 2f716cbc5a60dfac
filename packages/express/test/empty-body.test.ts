import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { errorHandler, guard } from '@apiward/express'
import express from 'express'
import express4 from 'express4'
import { afterEach, describe, expect, it } from 'vitest'

const closers: Array<() => void> = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

async function serve(app: express.Express): Promise<string> {
  const server = createServer(app)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe.each([
  ['express 5', express],
  ['express 4', express4 as unknown as typeof express],
])('%s', (_name, factory) => {
  it('refuses an empty JSON body app-wide with one guard() after express.json(), routes without guards included', async () => {
    const app = factory()
    let reached = 0
    app.use(express.json())
    app.use(guard())
    app.post('/notes', (_req, res) => {
      reached++
      res.json({ ok: true })
    })
    app.use(errorHandler())
    const url = await serve(app)
    const empty = await fetch(`${url}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    expect(empty.status).toBe(400)
    expect(await empty.json()).toMatchObject({ code: 'request.malformed_body' })
    const filled = await fetch(`${url}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title":"x"}',
    })
    expect(filled.status).toBe(200)
    expect(reached).toBe(1)
  })
})

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { errorHandler, guard } from '@apiward/koa'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import Koa from 'koa'
import Koa2 from 'koa2'
import { afterEach, describe, expect, it } from 'vitest'

const closers: Array<() => void> = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

async function serve(app: Koa): Promise<string> {
  const server = createServer(app.callback())
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe.each([
  ['koa 3', Koa],
  ['koa 2', Koa2 as unknown as typeof Koa],
])('%s', (_name, Factory) => {
  it('refuses an empty JSON body at the first guard of a route', async () => {
    const app = new Factory()
    const router = new Router()
    let reached = 0
    router.post('/notes', guard(), (ctx) => {
      reached++
      ctx.body = { ok: true }
    })
    app.use(errorHandler())
    app.use(bodyParser())
    app.use(router.routes())
    const url = await serve(app)
    const empty = await fetch(`${url}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    expect(empty.status).toBe(400)
    expect(empty.headers.get('content-type')).toMatch(/^application\/problem\+json/)
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

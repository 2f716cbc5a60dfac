import { createServer } from 'node:http'
import { errorHandler, guard } from '@apiward/express'
import { secureHeaders } from '@apiward/headers'
import express5 from 'express'
import express4 from 'express4'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import { listen, type RunningServer } from '../conformance/harness.js'

// Express apps as they come, `x-powered-by` setting on: the guard must remove the header itself.
describe.each([
  ['express5', express5],
  ['express4', express4 as unknown as typeof express5],
])('%s with its x-powered-by setting on', (_name, express) => {
  let server: RunningServer
  beforeAll(async () => {
    const app = express()
    const admin = express()
    admin.get('/stats', (_req, res) => {
      res.json({ ok: true })
    })
    app.use(guard(secureHeaders()))
    app.use(express.json())
    app.get('/ok', (_req, res) => {
      res.json({ ok: true })
    })
    app.get('/own', (_req, res) => {
      res.setHeader('X-Powered-By', 'PHP/5.4')
      res.json({ ok: true })
    })
    app.use('/admin', admin)
    app.use(errorHandler())
    server = await listen(createServer(app))
  })
  afterAll(() => server.close())

  it('sends no X-Powered-By on a handler answer or on the 404 of the error handling', async () => {
    const ok = await send(`${server.url}/ok`)
    expect(ok.status).toBe(200)
    expect(ok.headers['x-powered-by']).toBeUndefined()
    expect(ok.headers['x-content-type-options']).toBe('nosniff')
    const missing = await send(`${server.url}/missing`)
    expect(missing.status).toBe(404)
    expect(missing.headers['x-powered-by']).toBeUndefined()
  })

  it('removes the X-Powered-By a mounted sub-app or a handler sets after the guard ran', async () => {
    const mounted = await send(`${server.url}/admin/stats`)
    expect(mounted.status).toBe(200)
    expect(mounted.headers['x-powered-by']).toBeUndefined()
    expect((await send(`${server.url}/own`)).headers['x-powered-by']).toBeUndefined()
  })

  it('keeps X-Powered-By when xPoweredBy: false asks for it', async () => {
    const app = express()
    app.use(guard(secureHeaders({ xPoweredBy: false })))
    app.get('/ok', (_req, res) => {
      res.json({ ok: true })
    })
    const kept = await listen(createServer(app))
    try {
      expect((await send(`${kept.url}/ok`)).headers['x-powered-by']).toBe('Express')
    } finally {
      await kept.close()
    }
  })
})

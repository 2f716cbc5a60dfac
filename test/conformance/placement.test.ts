import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { configureWarnings, resetWarnings } from '@apiward/core'
import * as apiwardExpress from '@apiward/express'
import { apiward } from '@apiward/fastify'
import * as apiwardKoa from '@apiward/koa'
import Router from '@koa/router'
import express5 from 'express'
import express4 from 'express4'
import fastify5 from 'fastify'
import fastify4 from 'fastify4'
import Koa3 from 'koa'
import Koa2 from 'koa2'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { send } from './client.js'

const warnings: Array<{ code: string; message: string; docs?: string }> = []
configureWarnings({ logger: (code, message, docs) => warnings.push({ code, message, docs }) })
beforeEach(() => {
  warnings.length = 0
  resetWarnings()
})
afterAll(() => configureWarnings())
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

function serve(listener: RequestListener): Promise<string> {
  const server = createServer(listener)
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      closers.push(
        () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      )
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })
}

describe.each([
  ['express5', express5],
  ['express4', express4 as unknown as typeof express5],
])('Express errorHandler() placement (%s)', (_name, express) => {
  it('warns once, naming the fix, when routes follow the error handler', async () => {
    const app = express()
    app.get('/before', (_req, res) => res.json({ ok: true }))
    app.use(apiwardExpress.errorHandler())
    app.get('/after', (_req, res) => res.json({ ok: true }))
    const url = await serve(app)
    expect((await send(`${url}/after`)).status).toBe(404)
    expect((await send(`${url}/after`)).status).toBe(404)
    const placement = warnings.filter((w) => w.code === 'APIWARD_EXPRESS_ERROR_HANDLER_NOT_LAST')
    expect(placement).toHaveLength(1)
    expect(placement[0]!.message).toMatch(/app\.use\(errorHandler\(\)\) last/)
    expect(placement[0]!.docs).toBe('adapters.md#placement')
  })

  it('stays quiet when the error handler comes last', async () => {
    const app = express()
    app.get('/before', (_req, res) => res.json({ ok: true }))
    app.use(express.Router())
    app.use(apiwardExpress.errorHandler())
    const url = await serve(app)
    expect((await send(`${url}/missing`)).status).toBe(404)
    expect(warnings).toEqual([])
  })
})

describe.each([
  ['koa3', Koa3],
  ['koa2', Koa2 as unknown as typeof Koa3],
])('Koa errorHandler() placement (%s)', (_name, Koa) => {
  it('warns once, naming the fix, when the error handler is not the first middleware', async () => {
    const app = new Koa()
    app.use(async (_ctx, next) => next())
    app.use(apiwardKoa.errorHandler())
    const url = await serve(app.callback())
    await send(`${url}/x`)
    await send(`${url}/x`)
    const placement = warnings.filter((w) => w.code === 'APIWARD_KOA_ERROR_HANDLER_NOT_FIRST')
    expect(placement).toHaveLength(1)
    expect(placement[0]!.message).toMatch(/before every other middleware/)
  })

  it('stays quiet when the error handler comes first', async () => {
    const app = new Koa()
    app.use(apiwardKoa.errorHandler())
    const router = new Router()
    router.get('/x', (ctx) => {
      ctx.body = { ok: true }
    })
    app.use(router.routes())
    const url = await serve(app.callback())
    expect((await send(`${url}/x`)).status).toBe(200)
    expect(warnings).toEqual([])
  })
})

describe.each([
  ['fastify5', fastify5],
  ['fastify4', fastify4 as unknown as typeof fastify5],
])('Fastify plugin placement (%s)', (_name, factory) => {
  it('warns at startup about routes registered before the plugin, which keep Fastify’s own 500', async () => {
    const app = factory()
    closers.push(() => app.close())
    app.get('/early', async () => {
      throw new Error('internal detail')
    })
    app.register(
      async (child) => {
        child.get('/x', async () => ({}))
      },
      { prefix: '/v1' },
    )
    await app.register(apiward)
    await app.ready()
    const placement = warnings.filter((w) => w.code === 'APIWARD_FASTIFY_ROUTES_BEFORE_PLUGIN')
    expect(placement).toHaveLength(1)
    expect(placement[0]!.message).toContain('/early')
    expect(placement[0]!.message).toContain('/v1/x')
    expect(placement[0]!.message).toMatch(/Register the plugin first/)
  })

  it('stays quiet when the plugin comes first', async () => {
    const app = factory()
    closers.push(() => app.close())
    await app.register(apiward)
    app.get('/late', async () => ({}))
    await app.ready()
    expect(warnings).toEqual([])
  })
})

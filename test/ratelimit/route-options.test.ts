import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defineGuard, type SecurityContext } from '@apiward/core'
import * as apiwardExpress from '@apiward/express'
import * as apiwardFastify from '@apiward/fastify'
import * as apiwardHono from '@apiward/hono'
import * as apiwardKoa from '@apiward/koa'
import { rateLimit } from '@apiward/ratelimit'
import { getRequestListener } from '@hono/node-server'
import Router from '@koa/router'
import express5 from 'express'
import fastify5 from 'fastify'
import fastify4 from 'fastify4'
import { type Context, Hono } from 'hono'
import Koa3 from 'koa'
import { afterAll, afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { inSequence } from './support.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

describe.each([
  ['fastify5', fastify5],
  ['fastify4', fastify4 as unknown as typeof fastify5],
])('Fastify route config.rateLimit, as @fastify/rate-limit reads it (%s)', (_name, factory) => {
  async function start(routes: (app: ReturnType<typeof fastify5>) => void) {
    const app = factory()
    closers.push(() => app.close())
    await app.register(apiwardFastify.apiward, { guards: [rateLimit({ points: 100, duration: 60 })] })
    routes(app)
    await app.listen({ port: 0, host: '127.0.0.1' })
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }

  it('gives a route its own limit, turns the limit off where it says false, and keeps the app-wide one elsewhere', async () => {
    const url = await start((app) => {
      app.get('/search', { config: { rateLimit: { points: 2, duration: 60 } } }, async () => ({}))
      app.get('/health', { config: { rateLimit: false } }, async () => ({}))
      app.get('/other', async () => ({}))
    })
    const search = await inSequence(3, `${url}/search`)
    expect(search.map((a) => a.status)).toEqual([200, 200, 429])
    expect(search[0]!.headers['ratelimit-policy']).toBe('"default.GET__search";q=2;w=60')
    const health = await inSequence(3, `${url}/health`)
    expect(health.map((a) => [a.status, a.headers.ratelimit])).toEqual([
      [200, undefined],
      [200, undefined],
      [200, undefined],
    ])
    const other = await send(`${url}/other`)
    expect(other.headers['ratelimit-policy']).toBe('"default";q=100;w=60')
    expect(other.headers.ratelimit).toBe('"default";r=99;t=60')
  })

  it('leaves a limiter on the route itself to limit it, whatever the route config says', async () => {
    const app = factory()
    closers.push(() => app.close())
    await app.register(apiwardFastify.apiward)
    const routeGuard = apiwardFastify.guard(rateLimit({ name: 'own', points: 2, duration: 60 }))
    app.get('/off', { config: { rateLimit: false }, ...routeGuard }, async () => ({}))
    const other = apiwardFastify.guard(rateLimit({ name: 'other', points: 2, duration: 60 }))
    app.get('/own', { config: { rateLimit: { points: 50, duration: 1 } }, ...other }, async () => ({}))
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const off = await inSequence(3, `${url}/off`)
    expect(off.map((a) => a.status)).toEqual([200, 200, 429])
    const own = await inSequence(3, `${url}/own`)
    expect(own.map((a) => a.status)).toEqual([200, 200, 429])
    expect(own[0]!.headers['ratelimit-policy']).toBe('"other";q=2;w=60')
  })

  it.each([
    [{ rateLimit: { max: 5, timeWindow: 1000 } }, /GET \/x.*unknown option "max"; did you mean "points/],
    [{ rateLimit: 5 }, /give false \(not limited there\) or options/],
    [{ rateLimit: { points: 0, duration: 1 } }, /points must be an integer/],
  ])('refuses a route config %o at startup, naming the route', async (config, message) => {
    const app = factory()
    closers.push(() => app.close())
    await app.register(apiwardFastify.apiward, { guards: [rateLimit({ points: 100, duration: 60 })] })
    expect(() => app.get('/x', { config: config as never }, async () => ({}))).toThrow(message)
  })
})

/** An authentication stand-in: `Authorization: good` establishes a principal, anything else is refused. */
const authenticate = defineGuard(
  (ctx) => {
    if (ctx.req.header('authorization') !== 'good') throw Object.assign(new Error('no'), { status: 401 })
    ctx.principal = { id: 'alice', kind: 'user', scopes: [], roles: [], claims: {}, credential: 'jwt' }
  },
  { guardName: 'authenticate', kind: 'authentication' },
)

describe.each(harnesses)('onlyUnauthenticated through $name', (harness) => {
  const servers: RunningServer[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  it('meets a flood of bad credentials before authentication, and gives authenticated requests their point back', async () => {
    const server = await harness.start({
      appGuards: [rateLimit({ name: 'anonymous', points: 2, duration: 60, onlyUnauthenticated: true })],
      routes: [{ method: 'GET', path: '/notes', guards: [authenticate] }],
    })
    servers.push(server)
    const good = { headers: { Authorization: 'good' } }
    const signedIn = await inSequence(6, `${server.url}/notes`, () => good)
    expect(signedIn.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200])
    const bad = await inSequence(3, `${server.url}/notes`, () => ({ headers: { Authorization: 'bad' } }))
    expect(bad.map((a) => a.status)).toEqual([401, 401, 429])
  })
})

describe('frameworkRequestOf() reaches what only the framework has', () => {
  const byUser = () =>
    rateLimit({
      points: 1,
      duration: 60,
      key: (ctx: SecurityContext) => frameworkUser(ctx),
    })
  let frameworkUser: (ctx: SecurityContext) => string | undefined = () => undefined
  const users = (url: string) =>
    Promise.all([
      send(`${url}/x`, { headers: { 'X-User': 'alice' } }),
      send(`${url}/x`, { headers: { 'X-User': 'alice' } }),
      send(`${url}/x`, { headers: { 'X-User': 'bob' } }),
    ]).then((answers) => answers.map((a) => a.status).sort())

  function listen(listener: Parameters<typeof createServer>[1]) {
    const server = createServer(listener)
    return new Promise<string>((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        closers.push(() => new Promise((done) => server.close(() => done())))
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
      })
    })
  }

  it('gives an Express key function the Express request (a Passport-style req.user)', async () => {
    frameworkUser = (ctx) => (apiwardExpress.frameworkRequestOf(ctx) as { user?: { id: string } })?.user?.id
    const app = express5()
    app.use((req, _res, next) => {
      ;(req as { user?: { id: string } }).user = { id: String(req.headers['x-user']) }
      next()
    })
    app.get('/x', apiwardExpress.guard(byUser()), (_req, res) => res.json({}))
    expect(await users(await listen(app))).toEqual([200, 200, 429])
    expectTypeOf(apiwardExpress.frameworkRequestOf).returns.toEqualTypeOf<express5.Request | undefined>()
  })

  it('gives a Koa key function the Koa context (a koa-passport-style ctx.state.user)', async () => {
    frameworkUser = (ctx) =>
      (apiwardKoa.frameworkRequestOf(ctx)?.state.user as { id: string } | undefined)?.id
    const app = new Koa3()
    app.use(apiwardKoa.errorHandler())
    app.use(async (ctx, next) => {
      ctx.state.user = { id: String(ctx.headers['x-user']) }
      await next()
    })
    const router = new Router()
    router.get('/x', apiwardKoa.guard(byUser()), (ctx) => {
      ctx.body = {}
    })
    app.use(router.routes())
    expect(await users(await listen(app.callback()))).toEqual([200, 200, 429])
  })

  it('gives a Fastify key function the Fastify request (a decorated request.user)', async () => {
    frameworkUser = (ctx) => (apiwardFastify.frameworkRequestOf(ctx) as { user?: { id: string } })?.user?.id
    const app = fastify5()
    closers.push(() => app.close())
    await app.register(apiwardFastify.apiward)
    app.addHook('onRequest', async (request) => {
      ;(request as { user?: { id: string } }).user = { id: String(request.headers['x-user']) }
    })
    app.get('/x', { ...apiwardFastify.guard(byUser()) }, async () => ({}))
    await app.listen({ port: 0, host: '127.0.0.1' })
    expect(await users(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)).toEqual([
      200, 200, 429,
    ])
  })

  it('gives a Hono key function the Hono context (a variable an earlier middleware set)', async () => {
    frameworkUser = (ctx) => apiwardHono.frameworkRequestOf(ctx)?.get('userId' as never) as string | undefined
    const app = new Hono()
    app.use(async (c, next) => {
      c.set('userId' as never, String(c.req.header('x-user')) as never)
      await next()
    })
    app.get('/x', apiwardHono.guard(byUser()), (c) => c.json({}))
    app.onError(apiwardHono.errorHandler())
    expect(await users(await listen(getRequestListener(app.fetch)))).toEqual([200, 200, 429])
    expectTypeOf(apiwardHono.frameworkRequestOf).returns.toEqualTypeOf<Context | undefined>()
  })

  it('answers undefined for a context no adapter made, and for a guardFetch() handler', async () => {
    const { context } = await import('../support/guard-context.js')
    expect(apiwardExpress.frameworkRequestOf(context())).toBeUndefined()
    expect(apiwardHono.frameworkRequestOf(context())).toBeUndefined()
    let seen: unknown = 'not called'
    const handler = apiwardHono.guardFetch(
      defineGuard(
        (ctx) => {
          seen = apiwardHono.frameworkRequestOf(ctx)
        },
        { guardName: 'probe' },
      ),
      () => new Response('{}'),
    )
    expect((await handler(new Request('http://127.0.0.1/x'))).status).toBe(200)
    expect(seen).toBeUndefined()
  })
})

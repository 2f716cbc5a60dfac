import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { configureWarnings, type Guard, resetWarnings } from '@apiward/core'
import * as apiwardExpress from '@apiward/express'
import * as apiwardFastify from '@apiward/fastify'
import * as apiwardKoa from '@apiward/koa'
import { bruteForce, rateLimit } from '@apiward/ratelimit'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import express5 from 'express'
import express4 from 'express4'
import fastify5 from 'fastify'
import fastify4 from 'fastify4'
import Koa3 from 'koa'
import Koa2 from 'koa2'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import { harnesses } from '../conformance/servers/index.js'
import { inSequence, json } from './support.js'

const warnings: Array<{ code: string; message: string; docs?: string }> = []
configureWarnings({ logger: (code, message, docs) => warnings.push({ code, message, docs }) })
beforeEach(() => {
  warnings.length = 0
  resetWarnings()
})
const codes = () => warnings.map((w) => w.code)

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})
afterAll(() => configureWarnings())

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

/** The password `right` is right for everyone; the handler reads the body the guard parsed. */
const verdict = (body: unknown) =>
  (body as { password?: unknown } | undefined)?.password === 'right' ? 200 : 401

interface LoginApp {
  /** How the app parses bodies before the guard: none, or JSON only. */
  parser: 'none' | 'json'
  /** The framework's trust-proxy setting. */
  trust?: 'all' | 'one'
  /** Route guards, and one more route whose handler builds a limiter per request. */
  guards?: Guard[]
}

type Framework = {
  name: string
  start(app: LoginApp): Promise<string>
}

const perRequestLimiter = () => rateLimit({ points: 5, duration: 60 })

function expressFramework(name: string, express: typeof express5): Framework {
  return {
    name,
    start({ parser, trust, guards = [bruteForce({ maxConsecutiveFailures: 2 })] }) {
      const app = express()
      if (trust) app.set('trust proxy', trust === 'all' ? true : 1)
      if (parser === 'json') app.use(express.json())
      app.post('/login', apiwardExpress.guard(...guards), (req, res) => {
        res.status(verdict(req.body)).json({ body: req.body ?? null })
      })
      app.get('/made-per-request', (req, res) =>
        apiwardExpress.guard(perRequestLimiter())(req, res, () => res.json({})),
      )
      app.use(apiwardExpress.errorHandler())
      return serve(app)
    },
  }
}

function koaFramework(name: string, Koa: typeof Koa3): Framework {
  return {
    name,
    start({ parser, trust, guards = [bruteForce({ maxConsecutiveFailures: 2 })] }) {
      const app = new Koa(
        trust === 'all' ? { proxy: true } : trust === 'one' ? { proxy: true, maxIpsCount: 1 } : {},
      )
      app.use(apiwardKoa.errorHandler())
      if (parser === 'json') app.use(bodyParser({ enableTypes: ['json'] }))
      const router = new Router()
      router.post('/login', apiwardKoa.guard(...guards), (ctx) => {
        const body = (ctx.request as { body?: unknown }).body
        ctx.status = verdict(body)
        ctx.body = { body: body ?? null }
      })
      router.get('/made-per-request', (ctx) =>
        apiwardKoa.guard(perRequestLimiter())(ctx, async () => {
          ctx.body = {}
        }),
      )
      app.use(router.routes())
      return serve(app.callback())
    },
  }
}

function fastifyFramework(name: string, factory: typeof fastify5): Framework {
  return {
    name,
    async start({ trust, guards = [bruteForce({ maxConsecutiveFailures: 2 })] }) {
      const app = factory({ trustProxy: trust === 'all' ? true : trust === 'one' ? '127.0.0.1' : false })
      await app.register(apiwardFastify.apiward)
      app.post('/login', { ...apiwardFastify.guard(...guards) }, async (request, reply) => {
        reply.code(verdict(request.body))
        return { body: request.body ?? null }
      })
      app.get('/made-per-request', (request, reply) => {
        const hooks = apiwardFastify.guard(perRequestLimiter())
        hooks.onRequest[0]!.call(app, request, reply, () => reply.send({}))
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      closers.push(() => app.close())
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    },
  }
}

const nodeFrameworks: Framework[] = [
  expressFramework('express5', express5),
  expressFramework('express4', express4 as unknown as typeof express5),
  koaFramework('koa3', Koa3),
  koaFramework('koa2', Koa2 as unknown as typeof Koa3),
]
const frameworks: Framework[] = [
  ...nodeFrameworks,
  fastifyFramework('fastify5', fastify5),
  fastifyFramework('fastify4', fastify4 as unknown as typeof fastify5),
]

const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  body: new URLSearchParams(fields).toString(),
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
})

describe.each(nodeFrameworks)('bruteForce() without a body parser through $name', (framework) => {
  it('counts a JSON login per username and hands the handler the body it read', async () => {
    const url = await framework.start({ parser: 'none' })
    const statuses = await inSequence(3, `${url}/login`, () => json({ username: 'alice', password: 'wrong' }))
    expect(statuses.map((a) => a.status)).toEqual([401, 401, 429])
    const bob = await send(`${url}/login`, json({ username: 'bob', password: 'right' }))
    expect(bob.status).toBe(200)
    expect(bob.json.body).toEqual({ username: 'bob', password: 'right' })
    expect(codes()).not.toContain('APIWARD_BRUTEFORCE_NO_USERNAME')
  })

  it('counts a form login behind a JSON-only parser per username', async () => {
    const url = await framework.start({ parser: 'json' })
    const statuses = await inSequence(3, `${url}/login`, () => form({ username: 'Alice', password: 'wrong' }))
    expect(statuses.map((a) => a.status)).toEqual([401, 401, 429])
    const bob = await send(`${url}/login`, form({ username: 'bob', password: 'right' }))
    expect(bob.status).toBe(200)
  })

  it('refuses a form username given twice as not a string', async () => {
    const url = await framework.start({ parser: 'none' })
    const answer = await send(`${url}/login`, {
      ...form({}),
      body: 'username=alice&username=bob&password=wrong',
    })
    expect(answer.status).toBe(400)
    expect(answer.json.code).toBe('request.invalid_username')
  })

  it('answers a malformed JSON login with a 400 problem, never a 500', async () => {
    const url = await framework.start({ parser: 'none' })
    const answer = await send(`${url}/login`, {
      method: 'POST',
      body: '{"username":',
      headers: { 'Content-Type': 'application/json' },
    })
    expect(answer.status).toBe(400)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
  })
})

describe.each(frameworks)('bruteForce() finds the username through $name', (framework) => {
  it('reads the user of Basic credentials', async () => {
    const url = await framework.start({ parser: 'json' })
    const basic = (user: string) =>
      json(
        { password: 'wrong' },
        { Authorization: `Basic ${Buffer.from(`${user}:wrong`).toString('base64')}` },
      )
    const statuses = await inSequence(3, `${url}/login`, () => basic('alice'))
    expect(statuses.map((a) => a.status)).toEqual([401, 401, 429])
    expect((await send(`${url}/login`, basic('bob'))).status).toBe(401)
  })

  it('warns once, naming the fix, when an attempt carries no username anywhere', async () => {
    const url = await framework.start({ parser: 'json' })
    await send(`${url}/login`, json({ user: 'alice', password: 'wrong' }))
    await send(`${url}/login`, json({ user: 'bob', password: 'wrong' }))
    expect(codes().filter((c) => c === 'APIWARD_BRUTEFORCE_NO_USERNAME')).toHaveLength(1)
    const warning = warnings.find((w) => w.code === 'APIWARD_BRUTEFORCE_NO_USERNAME')!
    expect(warning.message).toMatch(/username: \(ctx\) =>/)
    expect(warning.docs).toBe('ratelimit.md#the-username')
  })
})

describe.each(frameworks)('trust-proxy checks through $name', (framework) => {
  it('warns once when the framework trusts every proxy, and lets no client pick its bucket silently', async () => {
    const url = await framework.start({
      parser: 'json',
      trust: 'all',
      guards: [rateLimit({ points: 5, duration: 60 })],
    })
    await send(`${url}/login`, { method: 'POST', headers: { 'X-Forwarded-For': '198.51.100.1' } })
    await send(`${url}/login`, { method: 'POST', headers: { 'X-Forwarded-For': '198.51.100.2' } })
    expect(codes().filter((c) => c === 'APIWARD_PERMISSIVE_TRUST_PROXY')).toHaveLength(1)
    expect(warnings[0]!.message).toContain('leftmost X-Forwarded-For entry')
  })

  it('stays quiet about a setting that trusts one proxy', async () => {
    const url = await framework.start({
      parser: 'json',
      trust: 'one',
      guards: [rateLimit({ points: 5, duration: 60 })],
    })
    await send(`${url}/login`, { method: 'POST', headers: { 'X-Forwarded-For': '198.51.100.1' } })
    expect(codes()).toEqual([])
  })
})

describe.each(frameworks)('a limiter made inside a request handler through $name', (framework) => {
  it('is warned about once, naming the fix', async () => {
    const url = await framework.start({ parser: 'json' })
    const answers = await inSequence(2, `${url}/made-per-request`)
    expect(answers.map((a) => a.status)).toEqual([200, 200])
    expect(codes().filter((c) => c === 'APIWARD_LIMITER_CREATED_IN_HANDLER')).toHaveLength(1)
    expect(warnings.find((w) => w.code === 'APIWARD_LIMITER_CREATED_IN_HANDLER')!.message).toMatch(
      /Create it once at startup/,
    )
  })
})

describe.each(harnesses)('several limiters on one request through $name', (harness) => {
  it('sends every policy that applied, and counts a limiter mounted twice once', async () => {
    const perIp = rateLimit({ name: 'ip', points: 100, duration: 60 })
    const search = rateLimit({ name: 'search', points: 5, duration: 1 })
    const server = await harness.start({
      appGuards: [perIp],
      routes: [{ method: 'GET', path: '/search', guards: [perIp, search] }],
    })
    closers.push(() => server.close())
    const answer = await send(`${server.url}/search`)
    expect(answer.status).toBe(200)
    expect(answer.headers['ratelimit-policy']).toBe('"ip";q=100;w=60, "search";q=5;w=1')
    expect(answer.headers.ratelimit).toBe('"ip";r=99;t=60, "search";r=4;t=1')
    expect(codes()).toEqual(['APIWARD_DOUBLE_COUNT'])
  })
})

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Guard } from '@apiward/core'
import { Forbidden, Unauthorized } from '@apiward/errors'
import { createGuard, errorHandler, guard } from '@apiward/express'
import express, { type ErrorRequestHandler } from 'express'
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

const deny: Guard = () => {
  throw new Unauthorized({ code: 'auth.missing_credentials' })
}
const asAlice: Guard = (ctx) => {
  ctx.principal = { id: 'alice', kind: 'user', scopes: [], roles: ['admin'], claims: {}, credential: 'jwt' }
}

describe.each([
  ['express 5', express],
  ['express 4', express4 as unknown as typeof express],
])('%s', (_name, factory) => {
  it('guards every route of a router mounted under a prefix', async () => {
    const app = factory()
    const admin = factory.Router()
    admin.get('/users', (_req, res) => res.json({ items: [] }))
    app.use('/admin', guard(deny), admin)
    app.get('/public', (_req, res) => res.json({ ok: true }))
    app.use(errorHandler())
    const url = await serve(app)
    expect((await fetch(`${url}/admin/users`)).status).toBe(401)
    expect((await fetch(`${url}/public`)).status).toBe(200)
  })

  it('gives guards inside a mounted router the whole path the client sent', async () => {
    const app = factory()
    const admin = factory.Router()
    const seen: string[] = []
    const recordPath: Guard = (ctx) => {
      seen.push(`${ctx.req.rawPath} ${ctx.req.path}`)
    }
    admin.get('/users/:id', guard(recordPath), (_req, res) => res.json({ ok: true }))
    app.use('/admin', guard(recordPath), admin)
    const url = await serve(app)
    expect((await fetch(`${url}/admin/users/7?x=1`)).status).toBe(200)
    expect(seen).toEqual(['/admin/users/7 /admin/users/7', '/admin/users/7 /admin/users/7'])
  })

  it('shares one context between an app-wide guard and a route guard', async () => {
    const app = factory()
    const seen: string[] = []
    app.use(guard(asAlice, (ctx) => void seen.push(ctx.requestId)))
    app.get(
      '/me',
      guard((ctx) => {
        seen.push(ctx.requestId)
        if (ctx.principal?.id !== 'alice') throw new Forbidden()
      }),
      (req, res) => res.json({ id: req.auth?.id }),
    )
    const url = await serve(app)
    const res = await fetch(`${url}/me`)
    expect(await res.json()).toEqual({ id: 'alice' })
    expect(seen).toHaveLength(2)
    expect(seen[0]).toBe(seen[1])
    expect(seen[0]).toBe(res.headers.get('x-request-id'))
  })

  it('passes denials to the error middleware with forwardErrors', async () => {
    const app = factory()
    const forwarded: unknown[] = []
    const forwarding = createGuard({ forwardErrors: true })
    app.get('/x', forwarding(deny), (_req, res) => res.json({}))
    const spy: ErrorRequestHandler = (err, _req, _res, next) => {
      forwarded.push(err)
      next(err)
    }
    app.use(spy)
    app.use(errorHandler())
    const url = await serve(app)
    const res = await fetch(`${url}/x`)
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/problem\+json/)
    expect(forwarded).toHaveLength(1)
  })

  it('finds the allowed methods of routes inside mounted routers for 405', async () => {
    const app = factory()
    const notes = factory.Router()
    notes.get('/:id', (_req, res) => res.json({}))
    notes.patch('/:id', (_req, res) => res.json({}))
    app.use('/notes', notes)
    app.use(errorHandler())
    const url = await serve(app)
    const res = await fetch(`${url}/notes/1`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD, PATCH')
  })

  it('answers HEAD denials without a body', async () => {
    const app = factory()
    app.get('/x', guard(deny), (_req, res) => res.json({}))
    const url = await serve(app)
    const res = await fetch(`${url}/x`, { method: 'HEAD' })
    expect(res.status).toBe(401)
    expect(await res.text()).toBe('')
  })

  it('uses the configured problem type base', async () => {
    const app = factory()
    const typed = createGuard({ problemTypeBase: 'https://api.example.com/problems/' })
    app.get('/x', typed(deny), (_req, res) => res.json({}))
    const url = await serve(app)
    const body = (await (await fetch(`${url}/x`)).json()) as { type: string }
    expect(body.type).toBe('https://api.example.com/problems/auth.missing_credentials')
  })

  it('sees the client IP through the trust proxy setting', async () => {
    const app = factory()
    app.set('trust proxy', 1)
    app.get(
      '/ip',
      guard((ctx) => ctx.setHeader('X-Seen-Ip', String(ctx.req.ip))),
      (_req, res) => res.json({}),
    )
    const url = await serve(app)
    const res = await fetch(`${url}/ip`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })
    expect(res.headers.get('x-seen-ip')).toBe('203.0.113.9')
  })

  it('gives guards the route pattern, params and query', async () => {
    const app = factory()
    const router = factory.Router()
    router.get(
      '/:id',
      guard((ctx) => {
        ctx.setHeader('X-Route', String(ctx.req.route))
        ctx.setHeader('X-Param', ctx.req.params.id ?? '')
        ctx.setHeader('X-Query', String(ctx.req.query.limit))
      }),
      (_req, res) => res.json({}),
    )
    app.use('/notes', router)
    const url = await serve(app)
    const res = await fetch(`${url}/notes/n-1?limit=5`)
    expect(res.headers.get('x-route')).toBe('/notes/:id')
    expect(res.headers.get('x-param')).toBe('n-1')
    expect(res.headers.get('x-query')).toBe('5')
  })

  it('refuses an unknown option name at build time, naming the option meant', () => {
    expect(() => createGuard({ forwardError: true } as never)).toThrow(TypeError)
    expect(() => createGuard({ forwardError: true } as never)).toThrow(/did you mean "forwardErrors"/)
    expect(() => errorHandler({ problemTypeBse: '/p/' } as never)).toThrow(/did you mean "problemTypeBase"/)
  })
})

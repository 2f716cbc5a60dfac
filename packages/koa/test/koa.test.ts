import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { Guard } from '@apiward/core'
import { Forbidden, Unauthorized } from '@apiward/errors'
import { contextOf, createGuard, errorHandler, guard } from '@apiward/koa'
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

/** Records what reaches Koa's `error` event, which a handled error must never reach. */
function koaErrors(app: Koa): unknown[] {
  const seen: unknown[] = []
  app.on('error', (err) => seen.push(err))
  return seen
}

const deny: Guard = () => {
  throw new Unauthorized({ code: 'auth.missing_credentials' })
}
const asAlice: Guard = (ctx) => {
  ctx.principal = { id: 'alice', kind: 'user', scopes: [], roles: ['admin'], claims: {}, credential: 'jwt' }
}
const hidesSecret: Guard = (ctx) =>
  ctx.onSend((body) => {
    const { secret: _secret, ...rest } = body as Record<string, unknown>
    return rest
  })
const quiet = { onUnexpectedError: () => {} }

describe.each([
  ['koa 3', Koa],
  ['koa 2', Koa2],
])('%s', (_name, Framework) => {
  it('guards every route of a router nested under a prefix and leaves the others open', async () => {
    const app = new Framework()
    const admin = new Router()
    admin.use(guard(deny))
    admin.get('/users', (ctx) => {
      ctx.body = { items: [] }
    })
    const api = new Router()
    api.use('/admin', admin.routes())
    api.get('/public', (ctx) => {
      ctx.body = { ok: true }
    })
    app.use(errorHandler())
    app.use(api.routes())
    const url = await serve(app)
    const denied = await fetch(`${url}/admin/users`)
    expect(denied.status).toBe(401)
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect((await fetch(`${url}/public`)).status).toBe(200)
  })

  it('guards a router mounted with a prefix of its own', async () => {
    const app = new Framework()
    const notes = new Router({ prefix: '/notes' })
    notes.get('/:id', guard(asAlice), (ctx) => {
      ctx.body = { id: ctx.params.id, owner: ctx.state.auth?.id }
    })
    app.use(notes.routes())
    const url = await serve(app)
    expect(await (await fetch(`${url}/notes/n-1`)).json()).toEqual({ id: 'n-1', owner: 'alice' })
  })

  it('shares one context between an app-wide guard and a route guard', async () => {
    const app = new Framework()
    const seen: string[] = []
    const router = new Router()
    app.use(guard(asAlice, (ctx) => void seen.push(ctx.requestId)))
    router.get(
      '/me',
      guard((ctx) => {
        seen.push(ctx.requestId)
        if (ctx.principal?.id !== 'alice') throw new Forbidden()
      }),
      (ctx) => {
        ctx.body = { id: ctx.state.auth?.id, same: contextOf(ctx).requestId === seen[0] }
      },
    )
    app.use(router.routes())
    const url = await serve(app)
    const res = await fetch(`${url}/me`)
    expect(await res.json()).toEqual({ id: 'alice', same: true })
    expect(seen).toHaveLength(2)
    expect(seen[0]).toBe(seen[1])
    expect(seen[0]).toBe(res.headers.get('x-request-id'))
  })

  it('answers denials itself, with the headers guards set, when no error handler is installed', async () => {
    const app = new Framework()
    const errors = koaErrors(app)
    app.use(guard((ctx) => ctx.setHeader('X-Guard', 'ran'), deny))
    app.use((ctx) => {
      ctx.body = { reached: true }
    })
    const url = await serve(app)
    const res = await fetch(`${url}/x`, { headers: { 'X-Request-Id': 'req-1' } })
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(res.headers.get('x-guard')).toBe('ran')
    expect(res.headers.get('x-request-id')).toBe('req-1')
    expect(await res.json()).toMatchObject({
      status: 401,
      code: 'auth.missing_credentials',
      requestId: 'req-1',
    })
    expect(errors).toEqual([])
  })

  it('throws denials to the upstream middleware with forwardErrors', async () => {
    const app = new Framework()
    const forwarded: unknown[] = []
    const errors = koaErrors(app)
    const forwarding = createGuard({ forwardErrors: true })
    app.use(errorHandler())
    app.use(async (_ctx, next) => {
      try {
        await next()
      } catch (err) {
        forwarded.push(err)
        throw err
      }
    })
    app.use(forwarding((ctx) => ctx.setHeader('X-Guard', 'ran'), deny))
    const url = await serve(app)
    const res = await fetch(`${url}/x`)
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(res.headers.get('x-guard')).toBe('ran')
    expect(forwarded).toHaveLength(1)
    expect(forwarded[0]).toBeInstanceOf(Unauthorized)
    expect(errors).toEqual([])
  })

  it('answers another method on a nested route with 405 and Allow, without router.allowedMethods()', async () => {
    const app = new Framework()
    const notes = new Router()
    notes.get('/:id', (ctx) => {
      ctx.body = {}
    })
    notes.patch('/:id', (ctx) => {
      ctx.body = {}
    })
    const api = new Router()
    api.use('/notes', notes.routes())
    app.use(errorHandler())
    app.use(api.routes())
    const url = await serve(app)
    const res = await fetch(`${url}/notes/1`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD, PATCH')
    expect(await res.json()).toMatchObject({ status: 405, code: 'route.method_not_allowed' })
  })

  it('turns the 405 of router.allowedMethods() into a problem that keeps Allow', async () => {
    const app = new Framework()
    const router = new Router()
    router.post('/notes', (ctx) => {
      ctx.body = {}
    })
    app.use(errorHandler())
    app.use(router.routes())
    app.use(router.allowedMethods())
    const url = await serve(app)
    const res = await fetch(`${url}/notes`, { method: 'PUT' })
    expect(res.status).toBe(405)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(res.headers.get('allow')).toBe('POST')
  })

  it('turns the thrown 405 of router.allowedMethods({ throw: true }) into a problem with Allow', async () => {
    const app = new Framework()
    const errors = koaErrors(app)
    const router = new Router()
    router.get('/notes', (ctx) => {
      ctx.body = []
    })
    app.use(errorHandler())
    app.use(router.routes())
    app.use(router.allowedMethods({ throw: true }))
    const url = await serve(app)
    const res = await fetch(`${url}/notes`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD')
    expect(errors).toEqual([])
  })

  it('answers an unknown route with a 404 problem and a known route with its status', async () => {
    const app = new Framework()
    const router = new Router()
    router.get('/gone', (ctx) => {
      ctx.status = 410
    })
    router.delete('/notes/:id', (ctx) => {
      ctx.body = null
    })
    app.use(errorHandler())
    app.use(router.routes())
    const url = await serve(app)
    const missing = await fetch(`${url}/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ code: 'route.not_found' })
    const gone = await fetch(`${url}/gone`)
    expect(gone.status).toBe(410)
    expect(gone.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const deleted = await fetch(`${url}/notes/1`, { method: 'DELETE' })
    expect(deleted.status).toBe(204)
    expect(await deleted.text()).toBe('')
  })

  it('answers HEAD denials and HEAD on unknown routes without a body', async () => {
    const app = new Framework()
    const router = new Router()
    router.get('/x', guard(deny), (ctx) => {
      ctx.body = {}
    })
    app.use(errorHandler())
    app.use(router.routes())
    const url = await serve(app)
    const denied = await fetch(`${url}/x`, { method: 'HEAD' })
    expect(denied.status).toBe(401)
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(Number(denied.headers.get('content-length'))).toBeGreaterThan(0)
    expect(await denied.text()).toBe('')
    const missing = await fetch(`${url}/nope`, { method: 'HEAD' })
    expect(missing.status).toBe(404)
    expect(await missing.text()).toBe('')
  })

  it('renders handler errors as generic 500s and keeps them from Koa and its error event', async () => {
    const app = new Framework()
    const errors = koaErrors(app)
    const unexpected: unknown[] = []
    app.use(errorHandler({ onUnexpectedError: (err) => unexpected.push(err) }))
    app.use(() => {
      throw new Error('db password is hunter2')
    })
    const url = await serve(app)
    const res = await fetch(`${url}/x`)
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(text).not.toContain('hunter2')
    expect(JSON.parse(text)).toMatchObject({ code: 'server.internal' })
    expect(unexpected).toHaveLength(1)
    expect(errors).toEqual([])
  })

  it('answers an error from a handler that took the response over before writing anything', async () => {
    const app = new Framework()
    app.use(errorHandler(quiet))
    app.use((ctx) => {
      ctx.respond = false
      throw new Error('before the first write')
    })
    const url = await serve(app)
    const res = await fetch(`${url}/x`, { signal: AbortSignal.timeout(2000) })
    expect(res.status).toBe(500)
    expect(await res.json()).toMatchObject({ code: 'server.internal' })
  })

  it('maps the body parser errors to 400, 413 and 415 problems', async () => {
    const app = new Framework()
    app.use(errorHandler(quiet))
    app.use(bodyParser({ jsonLimit: 64 }))
    app.use((ctx) => {
      ctx.body = { got: ctx.request.body }
    })
    const url = await serve(app)
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${url}/x`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body })
    const malformed = await post('{"a":')
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toMatchObject({ code: 'request.malformed_body' })
    const large = await post(JSON.stringify({ a: 'x'.repeat(200) }))
    expect(large.status).toBe(413)
    expect(await large.json()).toMatchObject({ code: 'request.body_too_large' })
    const encoded = await post('{"a":1}', { 'Content-Encoding': 'compress' })
    expect(encoded.status).toBe(415)
    expect(encoded.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await encoded.json()).toMatchObject({ status: 415 })
    expect(await (await post('{"a":1}')).json()).toEqual({ got: { a: 1 } })
  })

  it('uses the configured problem type base', async () => {
    const app = new Framework()
    const typed = createGuard({ problemTypeBase: 'https://api.example.com/problems/' })
    app.use(typed(deny))
    const url = await serve(app)
    const body = (await (await fetch(`${url}/x`)).json()) as { type: string }
    expect(body.type).toBe('https://api.example.com/problems/auth.missing_credentials')
  })

  it('sees the client IP through app.proxy and maxIpsCount', async () => {
    const app = new Framework({ proxy: true, maxIpsCount: 1 })
    app.use(guard((ctx) => ctx.setHeader('X-Seen-Ip', String(ctx.req.ip))))
    app.use((ctx) => {
      ctx.body = {}
    })
    const url = await serve(app)
    const res = await fetch(`${url}/ip`, { headers: { 'X-Forwarded-For': '198.51.100.1, 203.0.113.9' } })
    expect(res.headers.get('x-seen-ip')).toBe('203.0.113.9')
  })

  it('ignores X-Forwarded-For when the app does not trust a proxy', async () => {
    const app = new Framework()
    app.use(guard((ctx) => ctx.setHeader('X-Seen-Ip', String(ctx.req.ip))))
    app.use((ctx) => {
      ctx.body = {}
    })
    const url = await serve(app)
    const res = await fetch(`${url}/ip`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })
    expect(res.headers.get('x-seen-ip')).toBe('127.0.0.1')
  })

  it('gives guards the route pattern, params, query, body and the whole path', async () => {
    const app = new Framework()
    const router = new Router({ prefix: '/notes' })
    router.post(
      '/:id',
      guard((ctx) => {
        ctx.setHeader('X-Route', String(ctx.req.route))
        ctx.setHeader('X-Param', ctx.req.params.id ?? '')
        ctx.setHeader('X-Query', String(ctx.req.query.limit))
        ctx.setHeader('X-Body', JSON.stringify(ctx.req.body))
        ctx.setHeader('X-Path', ctx.req.path)
      }),
      (ctx) => {
        ctx.body = {}
      },
    )
    app.use(bodyParser())
    app.use(router.routes())
    const url = await serve(app)
    const res = await fetch(`${url}/notes/n-1/?limit=5`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"t":1}',
    })
    expect(res.headers.get('x-route')).toBe('/notes/:id')
    expect(res.headers.get('x-param')).toBe('n-1')
    expect(res.headers.get('x-query')).toBe('5')
    expect(res.headers.get('x-body')).toBe('{"t":1}')
    expect(res.headers.get('x-path')).toBe('/notes/n-1')
  })

  it('applies onSend to JSON bodies once and keeps a vendor JSON type', async () => {
    const app = new Framework()
    const router = new Router()
    let calls = 0
    app.use(
      guard((ctx) =>
        ctx.onSend((body) => {
          calls++
          return body
        }),
      ),
    )
    router.get('/note', guard(hidesSecret), (ctx) => {
      ctx.body = { id: 1, secret: 'hunter2' }
      ctx.type = 'application/vnd.api+json'
    })
    app.use(router.routes())
    const url = await serve(app)
    const res = await fetch(`${url}/note`)
    expect(await res.json()).toEqual({ id: 1 })
    expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.api\+json/)
    expect(calls).toBe(1)
  })

  it('leaves streams, strings and buffers alone in onSend', async () => {
    const app = new Framework()
    const router = new Router()
    const seen: unknown[] = []
    const records: Guard = (ctx) =>
      ctx.onSend((body) => {
        seen.push(body)
        return { replaced: true }
      })
    router.get('/stream', guard(records), (ctx) => {
      ctx.body = Readable.from(['streamed ', 'text'])
    })
    router.get('/string', guard(records), (ctx) => {
      ctx.body = 'plain text'
    })
    router.get('/buffer', guard(records), (ctx) => {
      ctx.body = Buffer.from('bytes')
    })
    app.use(router.routes())
    const url = await serve(app)
    expect(await (await fetch(`${url}/stream`)).text()).toBe('streamed text')
    expect(await (await fetch(`${url}/string`)).text()).toBe('plain text')
    expect(await (await fetch(`${url}/buffer`)).text()).toBe('bytes')
    expect(seen).toEqual([])
  })

  it('does not transform an error a handler threw', async () => {
    const app = new Framework()
    const router = new Router()
    router.get('/x', guard(hidesSecret), () => {
      throw new Forbidden({ code: 'notes.not_yours' })
    })
    app.use(errorHandler())
    app.use(router.routes())
    const url = await serve(app)
    const res = await fetch(`${url}/x`)
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'notes.not_yours' })
  })

  it('fires onFinish once with the status that was sent', async () => {
    const app = new Framework()
    const statuses: number[] = []
    app.use(guard((ctx) => ctx.onFinish((outcome) => statuses.push(outcome.status))))
    app.use((ctx) => {
      ctx.status = 201
      ctx.body = {}
    })
    const url = await serve(app)
    await fetch(`${url}/x`)
    await new Promise((r) => setTimeout(r, 50))
    expect(statuses).toEqual([201])
  })

  it('refuses a non-guard at build time with a TypeError', () => {
    expect(() => guard('jwt' as never)).toThrow(TypeError)
  })

  it('refuses an unknown option name at build time, naming the option meant', () => {
    expect(() => createGuard({ forwardError: true } as never)).toThrow(TypeError)
    expect(() => createGuard({ forwardError: true } as never)).toThrow(/did you mean "forwardErrors"/)
    expect(() => errorHandler({ problemTypeBse: '/p/' } as never)).toThrow(/did you mean "problemTypeBase"/)
  })
})

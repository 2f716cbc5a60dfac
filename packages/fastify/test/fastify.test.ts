import type { AddressInfo } from 'node:net'
import { defineGuard, type Guard, type SecurityContext } from '@apiward/core'
import { Forbidden, Unauthorized } from '@apiward/errors'
import { apiward, createGuard, frameworkErrors, guard } from '@apiward/fastify'
import fastify5, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fastify4 from 'fastify4'
import { afterEach, describe, expect, it } from 'vitest'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

const deny: Guard = () => {
  throw new Unauthorized({ code: 'auth.missing_credentials' })
}
const asAlice: Guard = (ctx) => {
  ctx.principal = { id: 'alice', kind: 'user', scopes: [], roles: ['admin'], claims: {}, credential: 'jwt' }
}
const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

describe.each([
  ['fastify 5', fastify5],
  ['fastify 4', fastify4 as unknown as typeof fastify5],
])('%s', (name, factory) => {
  async function build(
    routes: (app: FastifyInstance) => void | Promise<void>,
    options: FastifyServerOptions = {},
    plugin: Parameters<typeof apiward>[1] = {},
  ) {
    const app = factory({ frameworkErrors: frameworkErrors(), ...options })
    apps.push(app)
    await app.register(apiward, { onUnexpectedError: () => {}, ...plugin })
    await routes(app)
    await app.listen({ port: 0, host: '127.0.0.1' })
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }

  it('refuses a header-only denial in onRequest, before the body is read', async () => {
    let parsed = 0
    const url = await build((app) => {
      app.post(
        '/notes',
        {
          ...guard(deny),
          preParsing: (_request, _reply, payload, done) => {
            parsed++
            done(null, payload)
          },
        },
        async () => ({ created: true }),
      )
    })
    const res = await fetch(`${url}/notes`, json({ title: 'x' }))
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(parsed).toBe(0)
  })

  it('runs guards from the first that needs the body on in preHandler, with the parsed body', async () => {
    const order: string[] = []
    const header = defineGuard(() => void order.push('header'), { guardName: 'header' })
    const body = defineGuard(
      (ctx) => {
        order.push(`body:${(ctx.req.body as { title: string }).title}`)
      },
      { guardName: 'body', needsBody: true },
    )
    const late = defineGuard(() => void order.push('late'), { guardName: 'late' })
    const url = await build((app) => {
      app.post(
        '/notes',
        {
          ...guard(header, body, late),
          preParsing: (_request, _reply, payload, done) => {
            order.push('parse')
            done(null, payload)
          },
        },
        async () => ({ ok: true }),
      )
    })
    expect((await fetch(`${url}/notes`, json({ title: 'x' }))).status).toBe(200)
    expect(order).toEqual(['header', 'parse', 'body:x', 'late'])
  })

  it('shares one context between app-wide guards, both route hooks and the error handler', async () => {
    const seen: string[] = []
    const record = (ctx: SecurityContext) => void seen.push(ctx.requestId)
    const afterBody = defineGuard(record, { guardName: 'afterBody', needsBody: true })
    const url = await build(
      (app) => {
        app.post('/me', { ...guard(record, afterBody) }, async (request) => {
          if (request.auth?.id === 'alice') throw new Forbidden({ code: 'authz.no_alice' })
          return {}
        })
      },
      {},
      { guards: [asAlice, record] },
    )
    const res = await fetch(`${url}/me`, json({}))
    const body = (await res.json()) as { code: string; requestId: string }
    expect(res.status).toBe(403)
    expect(body.code).toBe('authz.no_alice')
    expect(seen).toHaveLength(3)
    expect(new Set([...seen, body.requestId, res.headers.get('x-request-id')]).size).toBe(1)
  })

  it('runs app-wide guards on unknown routes too', async () => {
    const url = await build(() => {}, {}, { guards: [deny] })
    expect((await fetch(`${url}/nowhere`)).status).toBe(401)
  })

  it('guards routes and finds allowed methods under plugin prefixes', async () => {
    const url = await build(async (app) => {
      await app.register(
        async (v1) => {
          v1.register(
            async (notes) => {
              notes.get(
                '/:id',
                {
                  ...guard((ctx) => {
                    ctx.setHeader('X-Route', String(ctx.req.route))
                    ctx.setHeader('X-Param', ctx.req.params.id ?? '')
                    ctx.setHeader('X-Query', String(ctx.req.query.limit))
                  }),
                },
                async () => ({}),
              )
              notes.patch('/:id', { ...guard(deny) }, async () => ({}))
            },
            { prefix: '/notes' },
          )
        },
        { prefix: '/v1' },
      )
    })
    const read = await fetch(`${url}/v1/notes/n-1?limit=5`)
    expect(read.headers.get('x-route')).toBe('/v1/notes/:id')
    expect(read.headers.get('x-param')).toBe('n-1')
    expect(read.headers.get('x-query')).toBe('5')
    expect((await fetch(`${url}/v1/notes/n-1`, { method: 'PATCH' })).status).toBe(401)
    const wrong = await fetch(`${url}/v1/notes/n-1`, { method: 'DELETE' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, PATCH')
    expect(((await wrong.json()) as { code: string }).code).toBe('route.method_not_allowed')
    expect((await fetch(`${url}/v2/notes/n-1`, { method: 'DELETE' })).status).toBe(404)
  })

  it('counts routes registered before the plugin for 405', async () => {
    const app = factory()
    apps.push(app)
    app.get('/early', async () => ({}))
    await app.register(apiward)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const res = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/early`, {
      method: 'POST',
    })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD')
  })

  it('answers 404, not 405, when a handler calls the not-found handler for its own path', async () => {
    const url = await build((app) => {
      app.get('/notes/:id', async (_request, reply) => reply.callNotFound())
    })
    const res = await fetch(`${url}/notes/missing`)
    expect(res.status).toBe(404)
    expect(((await res.json()) as { code: string }).code).toBe('route.not_found')
  })

  it('answers HEAD denials and HEAD misses without a body', async () => {
    const url = await build((app) => {
      app.get('/x', { ...guard(deny) }, async () => ({}))
    })
    const denied = await fetch(`${url}/x`, { method: 'HEAD' })
    expect(denied.status).toBe(401)
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await denied.text()).toBe('')
    const missing = await fetch(`${url}/nope`, { method: 'HEAD' })
    expect(missing.status).toBe(404)
    expect(await missing.text()).toBe('')
  })

  it('sees the client IP through the trustProxy setting', async () => {
    const url = await build(
      (app) => {
        app.get(
          '/ip',
          { ...guard((ctx) => ctx.setHeader('X-Seen-Ip', String(ctx.req.ip))) },
          async () => ({}),
        )
      },
      { trustProxy: '127.0.0.1' },
    )
    const res = await fetch(`${url}/ip`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })
    expect(res.headers.get('x-seen-ip')).toBe('203.0.113.9')
  })

  it('renders a schema violation as a 400 problem with a pointer per violation', async () => {
    const url = await build((app) => {
      app.post(
        '/notes',
        {
          schema: {
            body: {
              type: 'object',
              required: ['title'],
              properties: { title: { type: 'string' } },
            },
          },
        },
        async () => ({}),
      )
    })
    const res = await fetch(`${url}/notes`, json({ body: 'no title' }))
    const problem = (await res.json()) as { code: string; detail: string; errors: unknown[] }
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(problem.code).toBe('validation.rejected')
    expect(problem.detail).toBe('The request body failed validation.')
    expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/title', code: 'required' })])
  })

  it('answers an unsupported media type with 415, a malformed URL with 400, an overlong one as a problem', async () => {
    const url = await build((app) => {
      app.post('/notes', async () => ({}))
      app.get('/notes/:id', async () => ({}))
    })
    const media = await fetch(`${url}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-unknown' },
      body: 'x',
    })
    expect(media.status).toBe(415)
    expect(media.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const path = await fetch(`${url}/notes/%E0%A4%A`)
    expect(path.status).toBe(400)
    expect(((await path.json()) as { code: string }).code).toBe('request.invalid_path')
    const long = await fetch(`${url}/notes/${'n'.repeat(200)}`)
    // Fastify 4's router does not report an overlong parameter: the route just does not match.
    expect(long.status).toBe(name === 'fastify 5' ? 414 : 404)
    expect(long.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  })

  it('turns an unexpected handler error into a generic 500 reported to onUnexpectedError', async () => {
    const reported: unknown[] = []
    const url = await build(
      (app) => {
        app.get('/boom', async () => {
          throw new Error('db password is hunter2')
        })
      },
      {},
      { onUnexpectedError: (err) => reported.push(err) },
    )
    const res = await fetch(`${url}/boom`)
    const text = await res.text()
    expect(res.status).toBe(500)
    expect(text).not.toContain('hunter2')
    expect(JSON.parse(text)).toMatchObject({ code: 'server.internal' })
    expect(reported).toEqual([expect.objectContaining({ message: 'db password is hunter2' })])
  })

  it('passes denials to the error handler with forwardErrors', async () => {
    const forwarded: unknown[] = []
    const forwarding = createGuard({ forwardErrors: true })
    const url = await build((app) => {
      app.register(async (scope) => {
        scope.setErrorHandler((err, _request, reply) => {
          forwarded.push(err)
          return reply.code(418).send({ mine: true })
        })
        scope.get('/x', { ...forwarding(deny) }, async () => ({}))
      })
    })
    const res = await fetch(`${url}/x`)
    expect(res.status).toBe(418)
    expect(forwarded).toEqual([expect.objectContaining({ code: 'auth.missing_credentials' })])
  })

  it('uses the configured problem type base', async () => {
    const typed = createGuard({ problemTypeBase: 'https://api.example.com/problems/' })
    const url = await build((app) => {
      app.get('/x', { ...typed(deny) }, async () => ({}))
    })
    const body = (await (await fetch(`${url}/x`)).json()) as { type: string }
    expect(body.type).toBe('https://api.example.com/problems/auth.missing_credentials')
  })

  it('combines with hooks of the route’s own, in the order listed', async () => {
    const order: string[] = []
    const hooks = guard(
      asAlice,
      defineGuard(() => void order.push('guard:body'), { guardName: 'b', needsBody: true }),
    )
    const url = await build((app) => {
      app.post(
        '/x',
        {
          onRequest: [
            (_request, _reply, done) => {
              order.push('mine:before')
              done()
            },
            ...hooks.onRequest,
            (request, _reply, done) => {
              order.push(`mine:after:${request.auth?.id}`)
              done()
            },
          ],
          preHandler: hooks.preHandler,
        },
        async () => ({}),
      )
    })
    expect((await fetch(`${url}/x`, json({}))).status).toBe(200)
    expect(order).toEqual(['mine:before', 'mine:after:alice', 'guard:body'])
  })

  it('applies onSend transformers before the route’s response schema', async () => {
    const hidesTitle = defineGuard(
      (ctx) =>
        ctx.onSend((body) => {
          const { title: _title, ...rest } = body as Record<string, unknown>
          return rest
        }),
      { guardName: 'hidesTitle' },
    )
    const url = await build((app) => {
      app.get(
        '/note',
        {
          ...guard(hidesTitle),
          schema: {
            response: {
              200: { type: 'object', properties: { id: { type: 'number' }, title: { type: 'string' } } },
            },
          },
        },
        async () => ({ id: 1, title: 'secret', internal: 'never' }),
      )
    })
    const res = await fetch(`${url}/note`)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ id: 1 })
  })

  it('refuses guards that are not guards at startup, naming the option', async () => {
    const app = factory()
    apps.push(app)
    await expect(app.register(apiward, { guards: 'jwt' as never })).rejects.toThrow(/options\.guards/)
    const other = factory()
    apps.push(other)
    await expect(other.register(apiward, { guards: ['jwt' as never] })).rejects.toThrow(
      /options\.guards expects guards/,
    )
    expect(() => guard('jwt' as never)).toThrow(TypeError)
  })

  it('refuses an unknown option name at startup, naming the option meant', async () => {
    expect(() => createGuard({ forwardError: true } as never)).toThrow(TypeError)
    expect(() => createGuard({ forwardError: true } as never)).toThrow(/did you mean "forwardErrors"/)
    expect(() => frameworkErrors({ onUnexpectedErorr: () => {} } as never)).toThrow(
      /did you mean "onUnexpectedError"/,
    )
    const app = factory()
    apps.push(app)
    await expect(app.register(apiward, { guard: [] } as never)).rejects.toThrow(/did you mean "guards"/)
    const prefixed = factory()
    apps.push(prefixed)
    await prefixed.register(apiward, { prefix: '/api', guards: [] })
  })
})

import { createServer } from 'node:http'
import { answerNow, defineGuard, type Guard } from '@apiward/core'
import { ApiError, Unauthorized } from '@apiward/errors'
import { createGuard, errorHandler, guardFetch, notFound, requestErrorHandler, routes } from '@apiward/hono'
import { getRequestListener } from '@hono/node-server'
import { Hono, type MiddlewareHandler } from 'hono'
import { basicAuth } from 'hono/basic-auth'
import { bodyLimit } from 'hono/body-limit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import { listen, type RunningServer } from '../conformance/harness.js'

const PROBLEM = /^application\/problem\+json/

const echoesFacts: Guard = (ctx) => {
  ctx.setHeader('X-Ip', ctx.req.ip ?? '(none)')
  ctx.setHeader('X-Proxy-Trust', String(ctx.req.proxyTrust))
  ctx.setHeader('X-Protocol', ctx.req.protocol)
}
const denies: Guard = () => {
  throw new Unauthorized({ code: 'auth.missing_token' })
}
const answers: Guard = () => {
  throw answerNow(204, { headers: { 'X-Answered': 'yes' } })
}

function serve(app: Hono | ((request: Request, env: unknown) => Promise<Response>)): Promise<RunningServer> {
  const fetch = typeof app === 'function' ? app : app.fetch
  return listen(createServer(getRequestListener(fetch, { errorHandler: requestErrorHandler() })))
}

describe('options of @apiward/hono', () => {
  it('refuse a trustProxy that is neither a number of hops nor a function, naming the option', () => {
    for (const bad of [-1, 1.5, 65, '1', true]) {
      expect(() => createGuard({ trustProxy: bad as never })).toThrow(/createGuard\(\): trustProxy must be/)
    }
  })

  it('refuse an unknown option with the one meant', () => {
    expect(() => createGuard({ trustProxies: 1 } as never)).toThrow(
      /unknown option "trustProxies"; did you mean "trustProxy"/,
    )
    expect(() => errorHandler({ problemTypebase: 'x' } as never)).toThrow(/did you mean "problemTypeBase"/)
  })

  it('refuse a secureServer that is not a boolean', () => {
    expect(() => createGuard({ secureServer: 'yes' as never })).toThrow(/secureServer must be true or false/)
  })

  it('refuse a routing policy that is not two booleans', () => {
    expect(() => createGuard({ routing: { caseSensitive: 'yes' } as never })).toThrow(/routing must be/)
  })

  it('refuse forwardErrors around a fetch handler, and a handler that is not a function', () => {
    expect(() => guardFetch([], () => new Response(), { forwardErrors: true } as never)).toThrow(
      /forwardErrors has no meaning/,
    )
    expect(() => guardFetch([], 'handler' as never)).toThrow(/handler must be a function/)
  })

  it('refuse a requestIdHeader that is not a header name in requestErrorHandler()', () => {
    expect(() => requestErrorHandler({ requestIdHeader: 'X Id' })).toThrow(
      /requestIdHeader must be a header name/,
    )
  })
})

describe('trustProxy on Hono', () => {
  let servers: Record<string, RunningServer>
  beforeAll(async () => {
    const app = (trustProxy?: number | ((address: string, hop: number) => boolean)) => {
      const hono = new Hono()
      hono.get('/facts', createGuard({ trustProxy })(echoesFacts), (c) => c.body(null, 204))
      return serve(hono)
    }
    servers = {
      none: await app(),
      hops: await app(2),
      loopback: await app((address) => address === '127.0.0.1'),
      everyone: await app(() => true),
    }
  })
  afterAll(async () => {
    for (const server of Object.values(servers)) await server.close()
  })

  const facts = (server: string, headers: Record<string, string>) =>
    send(`${servers[server]!.url}/facts`, { headers })

  it('ignores X-Forwarded-For and -Proto when no proxy is trusted', async () => {
    const answer = await facts('none', { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' })
    expect(answer.headers['x-ip']).toBe('127.0.0.1')
    expect(answer.headers['x-protocol']).toBe('http')
    expect(answer.headers['x-proxy-trust']).toBe('none')
  })

  it('walks as many hops as it trusts, from the right', async () => {
    const answer = await facts('hops', { 'X-Forwarded-For': '198.51.100.1, 203.0.113.9, 10.0.0.2' })
    expect(answer.headers['x-ip']).toBe('203.0.113.9')
    expect(answer.headers['x-proxy-trust']).toBe('limited')
  })

  it('asks a predicate for each address from the socket outwards', async () => {
    const answer = await facts('loopback', { 'X-Forwarded-For': '198.51.100.1, 203.0.113.9' })
    expect(answer.headers['x-ip']).toBe('203.0.113.9')
    const proto = await facts('loopback', { 'X-Forwarded-Proto': 'https' })
    expect(proto.headers['x-protocol']).toBe('https')
  })

  it('stops at an entry that is not an address instead of taking it as the client', async () => {
    const answer = await facts('everyone', { 'X-Forwarded-For': '198.51.100.1, <script>' })
    expect(answer.headers['x-ip']).toBe('127.0.0.1')
    expect(answer.headers['x-proxy-trust']).toBe('any')
  })
})

describe('Hono error handling', () => {
  let server: RunningServer
  const seen: string[] = []
  let app: Hono
  beforeAll(async () => {
    app = new Hono()
    const forwarding = createGuard({ forwardErrors: true })
    const handle = errorHandler()
    app.use(
      '/admin/*',
      createGuard()(defineGuard(() => {}, { guardName: 'adminOnly', kind: 'authorization' })),
    )
    app.use('/items/:id/*', createGuard()(defineGuard(() => {}, { guardName: 'patterned' })))
    app.get('/forwarded', forwarding(denies), (c) => c.text('unreachable'))
    app.get('/answered', forwarding(answers), (c) => c.text('unreachable'))
    app.get('/admin/report', createGuard()(denies), (c) => c.text('unreachable'))
    app.get('/open', (c) => c.json({ open: true }))
    app.get('/basic', basicAuth({ username: 'u', password: 'p', realm: 'ops' }), (c) => c.text('in'))
    app.post('/upload', bodyLimit({ maxSize: 1024 }), createGuard()(), async (c) =>
      c.json(await c.req.json()),
    )
    const api = new Hono()
    api.get('/keys', createGuard()(defineGuard(() => {}, { guardName: 'apiKeys' })), (c) => c.json([]))
    api.onError(handle)
    app.route('/api', api)
    app.onError((err, c) => {
      seen.push(ApiError.is(err) ? err.code : err.name)
      return handle(err, c)
    })
    app.notFound(notFound(app))
    server = await serve(app)
  })
  afterAll(() => server.close())

  it('hands a denial to app.onError with forwardErrors, rendered there as problem+json', async () => {
    seen.length = 0
    const answer = await send(`${server.url}/forwarded`)
    expect(answer.status).toBe(401)
    expect(answer.headers['content-type']).toMatch(PROBLEM)
    expect(answer.json.requestId).toBe(answer.headers['x-request-id'])
    expect(seen).toEqual(['auth.missing_token'])
  })

  it('writes an answer at once with forwardErrors, since Hono hands its error handler only Errors', async () => {
    seen.length = 0
    const answer = await send(`${server.url}/answered`)
    expect(answer.status).toBe(204)
    expect(answer.headers['x-answered']).toBe('yes')
    expect(seen).toEqual([])
  })

  it("renders Hono's own HTTPException as a problem, keeping its challenge but not its body", async () => {
    const answer = await send(`${server.url}/basic`)
    expect(answer.status).toBe(401)
    expect(answer.headers['content-type']).toMatch(PROBLEM)
    expect(answer.headers['www-authenticate']).toBe('Basic realm="ops"')
    expect(answer.json).toMatchObject({ status: 401, code: 'auth.unauthorized' })
  })

  it('answers HEAD like GET without a body, denials included', async () => {
    const denied = await send(`${server.url}/admin/report`, { method: 'HEAD' })
    expect(denied.status).toBe(401)
    expect(denied.text).toBe('')
    const open = await send(`${server.url}/open`, { method: 'HEAD' })
    expect(open.status).toBe(200)
    expect(open.text).toBe('')
  })

  it('refuses a target with user information as a 400 where @hono/node-server cannot make a Request of it for bodyLimit()', async () => {
    const answer = await send(`${server.url}/`, {
      method: 'POST',
      target: 'http://user:pass@127.0.0.1/upload',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    })
    expect(answer.status).toBe(400)
    expect(answer.json).toMatchObject({ code: 'request.malformed' })
  })

  it('answers what the server refuses before Hono runs with a 400 problem, through requestErrorHandler()', async () => {
    const answer = await send(`${server.url}/`, { target: '/open\\..\\admin' })
    expect(answer.status).toBe(400)
    expect(answer.headers['content-type']).toMatch(PROBLEM)
    expect(answer.json).toMatchObject({ code: 'request.malformed' })
    expect(answer.json.requestId).toBe(answer.headers['x-request-id'])
  })

  it('lists routes with the app.use() guards that cover them, never a patterned mount', () => {
    const inventory = routes(app)
    const names = (method: string, path: string) =>
      inventory.find((r) => r.method === method && r.path === path)?.guards.map((g) => g.name)
    expect(names('GET', '/admin/report')).toEqual(['adminOnly', 'denies'])
    expect(names('GET', '/open')).toEqual([])
    // A sub-app with its own error handler: Hono wraps its handlers, the guards are still found.
    expect(names('GET', '/api/keys')).toEqual(['apiKeys'])
    expect(inventory.find((r) => r.path === '/items/:id/*')).toBeUndefined()
  })
})

describe('guardFetch() around a response whose headers cannot change', () => {
  let upstream: RunningServer
  let server: RunningServer
  beforeAll(async () => {
    upstream = await serve(async () => Response.json({ from: 'upstream', secret: 's' }))
    const hides: Guard = (ctx) => {
      ctx.setHeader('X-Guard', 'ran')
      ctx.onSend((body) => ({ ...(body as object), secret: undefined }))
    }
    server = await serve(guardFetch(hides, () => fetch(upstream.url)))
  })
  afterAll(async () => {
    await server.close()
    await upstream.close()
  })

  it('copies it to add the guards’ headers and apply their transformers', async () => {
    const answer = await send(server.url)
    expect(answer.status).toBe(200)
    expect(answer.headers['x-guard']).toBe('ran')
    expect(answer.json).toEqual({ from: 'upstream' })
  })
})

describe('the scheme of a request without a Node connection', () => {
  const protocolOf = async (url: string, secureServer?: boolean) => {
    const handler = guardFetch(echoesFacts, () => new Response(null, { status: 204 }), { secureServer })
    return (await handler(new Request(url))).headers.get('x-protocol')
  }

  it('is what secureServer declares, whatever the URL says', async () => {
    expect(await protocolOf('http://api.test/x', true)).toBe('https')
    expect(await protocolOf('https://api.test/x', false)).toBe('http')
  })

  it("is the URL's where the runtime builds it from its listener and nothing is declared", async () => {
    expect(await protocolOf('https://api.test/x')).toBe('https')
    expect(await protocolOf('http://api.test/x')).toBe('http')
  })
})

describe('headers guards set on Hono', () => {
  let server: RunningServer
  const unexpected: unknown[] = []
  const setsHeaders: Guard = (ctx) => {
    ctx.setHeader('X-Guard', 'guard')
    ctx.setHeader('X-Kept', 'guard')
    ctx.appendHeader('Vary', 'Origin')
    ctx.removeHeader('X-Powered-By')
  }
  beforeAll(async () => {
    const app = new Hono()
    const guard = createGuard({ onUnexpectedError: (err) => unexpected.push(err) })
    app.get('/built', guard(setsHeaders), (c) => {
      c.header('X-Kept', 'handler')
      c.header('Vary', 'Accept')
      c.header('X-Powered-By', 'hono')
      return c.json({ built: true })
    })
    app.get('/removed', guard(setsHeaders), (c) => {
      c.header('X-Guard', undefined)
      return c.json({ removed: true })
    })
    app.get('/own', guard(setsHeaders), () =>
      Response.json({ own: true }, { headers: { 'X-Kept': 'handler', 'X-Powered-By': 'raw' } }),
    )
    app.get('/thrown', guard(setsHeaders), () => {
      throw 'not an Error'
    })
    app.get('/denied', guard(setsHeaders, denies), (c) => c.text('unreachable'))
    // A middleware before the guard that sets the header the guard removes, through Hono's own call.
    const early: MiddlewareHandler = async (c, next) => {
      c.header('X-Powered-By', 'early')
      await next()
    }
    app.get('/early', early, guard(setsHeaders), (c) => c.json({ early: true }))
    app.get('/early-denied', early, guard(setsHeaders, denies), (c) => c.text('unreachable'))
    app.onError(errorHandler())
    server = await serve(app)
  })
  afterAll(() => server.close())

  it('are on the response the handler builds through c, where its own c.header() calls win', async () => {
    const answer = await send(`${server.url}/built`)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ built: true })
    expect(answer.headers['x-guard']).toBe('guard')
    expect(answer.headers['x-kept']).toBe('handler')
    expect(answer.headers.vary).toBe('Accept, Origin')
    expect(answer.headers['x-powered-by']).toBeUndefined()
    expect(answer.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it('leave out one the handler removed with c.header(name) before building its response', async () => {
    const answer = await send(`${server.url}/removed`)
    expect(answer.json).toEqual({ removed: true })
    expect(answer.headers['x-guard']).toBeUndefined()
    expect(answer.headers['x-kept']).toBe('guard')
  })

  it('are added to a Response the handler made itself, whose own headers win', async () => {
    const answer = await send(`${server.url}/own`)
    expect(answer.json).toEqual({ own: true })
    expect(answer.headers['x-guard']).toBe('guard')
    expect(answer.headers['x-kept']).toBe('handler')
    expect(answer.headers.vary).toBe('Origin')
    expect(answer.headers['x-powered-by']).toBeUndefined()
  })

  it('are on the 500 problem of a handler that throws something other than an Error', async () => {
    const answer = await send(`${server.url}/thrown`)
    expect(answer.status).toBe(500)
    expect(answer.headers['content-type']).toMatch(PROBLEM)
    expect(answer.headers['x-guard']).toBe('guard')
    expect(answer.json.requestId).toBe(answer.headers['x-request-id'])
    expect(unexpected).toEqual(['not an Error'])
  })

  it('are on the denial of a later guard, with the request ID of its problem', async () => {
    const answer = await send(`${server.url}/denied`)
    expect(answer.status).toBe(401)
    expect(answer.headers['x-guard']).toBe('guard')
    expect(answer.headers.vary).toBe('Origin')
    expect(answer.json.requestId).toBe(answer.headers['x-request-id'])
  })

  it('leave out a header removed by a guard that an earlier middleware set, on an answer and a denial', async () => {
    const answer = await send(`${server.url}/early`)
    expect(answer.json).toEqual({ early: true })
    expect(answer.headers['x-guard']).toBe('guard')
    expect(answer.headers['x-powered-by']).toBeUndefined()
    const denied = await send(`${server.url}/early-denied`)
    expect(denied.status).toBe(401)
    expect(denied.headers['x-guard']).toBe('guard')
    expect(denied.headers['x-powered-by']).toBeUndefined()
  })

  it('echo a well-formed incoming X-Request-Id and replace a repeated one', async () => {
    const echoed = await send(`${server.url}/built`, { headers: { 'X-Request-Id': 'abc-123' } })
    expect(echoed.headers['x-request-id']).toBe('abc-123')
    const repeated = await send(`${server.url}/built`, {
      headers: [
        ['X-Request-Id', 'abc-123'],
        ['X-Request-Id', 'def-456'],
      ],
    })
    expect(repeated.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })
})

import {
  defineGuard,
  type Guard,
  type RequestOutcome,
  type SecurityEvent,
  SecurityEventBus,
} from '@apiward/core'
import { Forbidden, Unauthorized } from '@apiward/errors'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, send, sleep } from './client.js'
import type { AppSpec, RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

const GENERATED_ID = /^[A-Za-z0-9_-]{22}$/

const outcomes: RequestOutcome[] = []
const unexpected: unknown[] = []
const events: SecurityEvent[] = []
const bus = new SecurityEventBus()
bus.on((e) => events.push(e))

const denyMissingToken: Guard = () => {
  throw new Unauthorized({
    code: 'auth.missing_token',
    headers: { 'WWW-Authenticate': 'Bearer realm="test"' },
  })
}
const setsHeader: Guard = (ctx) => ctx.setHeader('X-Guard', 'ran')
const recordsFinish: Guard = (ctx) => ctx.onFinish((outcome) => outcomes.push(outcome))
const authenticates: Guard = (ctx) => {
  ctx.principal = {
    id: 'alice',
    kind: 'user',
    scopes: ['notes:read'],
    roles: [],
    claims: { sub: 'alice' },
    credential: 'jwt',
  }
}
const asyncAllow: Guard = async (ctx) => {
  await sleep(5)
  authenticates(ctx)
}
const asyncDeny: Guard = async () => {
  await sleep(5)
  throw new Forbidden({ code: 'authz.missing_scope' })
}
const buggyGuard: Guard = () => {
  throw new TypeError('cannot read properties of undefined (reading "secretKey")')
}
const hidesSecret = defineGuard(
  (ctx) =>
    ctx.onSend((body) => {
      const { secret: _secret, ...rest } = body as Record<string, unknown>
      return rest
    }),
  { guardName: 'hidesSecret' },
)
const readsPath: Guard = (ctx) => {
  ctx.setHeader('X-Seen-Path', ctx.req.path)
}

const spec: AppSpec = {
  events: bus,
  bodyLimit: 1024,
  onUnexpectedError: (err) => unexpected.push(err),
  routes: [
    { method: 'GET', path: '/open', guards: [] },
    { method: 'GET', path: '/deny', guards: [setsHeader, denyMissingToken] },
    { method: 'GET', path: '/allow', guards: [setsHeader, authenticates] },
    { method: 'GET', path: '/async-allow', guards: [asyncAllow, setsHeader] },
    { method: 'GET', path: '/async-deny', guards: [setsHeader, asyncDeny] },
    { method: 'GET', path: '/buggy', guards: [buggyGuard] },
    { method: 'GET', path: '/finish', guards: [recordsFinish] },
    { method: 'GET', path: '/finish-deny', guards: [recordsFinish, denyMissingToken] },
    {
      method: 'GET',
      path: '/finish-slow',
      guards: [recordsFinish],
      handler: async () => {
        await sleep(300)
        return { body: { late: true } }
      },
    },
    {
      method: 'GET',
      path: '/transform',
      guards: [hidesSecret],
      handler: () => ({ body: { id: 1, secret: 'hunter2' } }),
    },
    {
      method: 'GET',
      path: '/throws',
      guards: [setsHeader],
      handler: () => {
        throw new Error('db password is hunter2')
      },
    },
    {
      method: 'GET',
      path: '/throws-async',
      handler: async () => {
        await sleep(1)
        throw new Error('db password is hunter2')
      },
    },
    { method: 'GET', path: '/path/:rest', guards: [readsPath] },
    {
      method: 'POST',
      path: '/echo',
      guards: [authenticates],
      handler: ({ body }) => ({ status: 201, body }),
    },
    { method: 'GET', path: '/items/:id', handler: ({ params }) => ({ body: { id: params.id } }) },
    { method: 'DELETE', path: '/items/:id', handler: () => ({ status: 204 }) },
    { method: 'GET', path: '/preflight' },
    {
      method: 'OPTIONS',
      path: '/preflight',
      handler: () => ({ status: 200, headers: { 'X-Preflight': 'own' }, body: { preflight: true } }),
    },
    { method: 'GET', path: '/declines' },
    { method: 'OPTIONS', path: '/declines', passes: true },
  ],
}

function expectProblem(answer: Awaited<ReturnType<typeof send>>, status: number, code: string) {
  expect(answer.status).toBe(status)
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(answer.json).toMatchObject({ status, code })
  expect(typeof answer.json.type).toBe('string')
  expect(typeof answer.json.title).toBe('string')
  expect(typeof answer.json.detail).toBe('string')
  expect(answer.json.requestId).toBe(answer.headers['x-request-id'])
  expect(answer.text).not.toMatch(/\bat .*\(.*:\d+:\d+\)/)
}

describe.each(harnesses)('$name adapter', (harness) => {
  let server: RunningServer
  let url: string
  const savedEnv = process.env.NODE_ENV

  beforeAll(async () => {
    delete process.env.NODE_ENV
    server = await harness.start(spec)
    url = server.url
  })
  afterAll(async () => {
    process.env.NODE_ENV = savedEnv
    await server.close()
  })

  it('lets an allowed request through to the handler with the principal as auth', async () => {
    const answer = await send(`${url}/allow`)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ ok: true, auth: expect.objectContaining({ id: 'alice', kind: 'user' }) })
    expect(answer.headers['x-guard']).toBe('ran')
  })

  it('runs a route with an empty composition as if unguarded', async () => {
    const answer = await send(`${url}/open`)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ ok: true, auth: null })
  })

  it('answers a denial with the status, headers and problem body of the ApiError', async () => {
    const answer = await send(`${url}/deny`)
    expectProblem(answer, 401, 'auth.missing_token')
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="test"')
    expect(answer.json.title).toBe('Unauthorized')
  })

  it('keeps headers set by guards on error responses too', async () => {
    const answer = await send(`${url}/deny`)
    expect(answer.headers['x-guard']).toBe('ran')
  })

  it('waits for an asynchronous guard that allows', async () => {
    const answer = await send(`${url}/async-allow`)
    expect(answer.status).toBe(200)
    expect(answer.json.auth.id).toBe('alice')
    expect(answer.headers['x-guard']).toBe('ran')
  })

  it('renders an asynchronous denial', async () => {
    const answer = await send(`${url}/async-deny`)
    expectProblem(answer, 403, 'authz.missing_scope')
    expect(answer.headers['x-guard']).toBe('ran')
  })

  it('turns a guard that throws a plain error into a generic 500', async () => {
    const before = unexpected.length
    const answer = await send(`${url}/buggy`)
    expectProblem(answer, 500, 'server.internal')
    expect(answer.text).not.toContain('secretKey')
    expect(unexpected.length).toBe(before + 1)
  })

  it('applies onSend transformers to the handler body', async () => {
    const answer = await send(`${url}/transform`)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ id: 1 })
    expect(answer.text).not.toContain('hunter2')
  })

  it('fires onFinish exactly once with the final status', async () => {
    outcomes.length = 0
    await send(`${url}/finish`)
    await eventually(() => outcomes.length === 1)
    await sleep(50)
    expect(outcomes).toHaveLength(1)
    expect(outcomes[0]).toMatchObject({ status: 200, aborted: false, error: undefined })
  })

  it('fires onFinish once with the error status and the rendered error on denial', async () => {
    outcomes.length = 0
    await send(`${url}/finish-deny`)
    await eventually(() => outcomes.length === 1)
    await sleep(50)
    expect(outcomes).toHaveLength(1)
    expect(outcomes[0]!.status).toBe(401)
    expect(outcomes[0]!.error?.code).toBe('auth.missing_token')
  })

  it('fires onFinish exactly once, marked aborted, when the client goes away', async () => {
    outcomes.length = 0
    await send(`${url}/finish-slow`, { abortAfterMs: 50 })
    await eventually(() => outcomes.length === 1)
    await sleep(400)
    expect(outcomes).toHaveLength(1)
    expect(outcomes[0]!.aborted).toBe(true)
  })

  it('answers a handler that throws with a generic 500 and no stack, NODE_ENV unset', async () => {
    expect(process.env.NODE_ENV).toBeUndefined()
    for (const path of ['/throws', '/throws-async']) {
      const before = unexpected.length
      const answer = await send(`${url}${path}`)
      expectProblem(answer, 500, 'server.internal')
      expect(answer.text).not.toContain('hunter2')
      expect(answer.text).not.toContain('Error:')
      expect(unexpected.length).toBe(before + 1)
      expect((unexpected.at(-1) as Error).message).toBe('db password is hunter2')
    }
  })

  it('emits server.error with the original error for unexpected failures', async () => {
    const answer = await send(`${url}/throws`)
    const event = events.find(
      (e) => e.type === 'server.error' && e.requestId === answer.headers['x-request-id'],
    )
    expect(event?.error).toBeInstanceOf(Error)
  })

  it('answers malformed JSON with a 400 problem', async () => {
    const answer = await send(`${url}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"title": ',
    })
    expectProblem(answer, 400, 'request.malformed_body')
  })

  it('parses a good JSON body and reaches the handler', async () => {
    const answer = await send(`${url}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"title":"x"}',
    })
    expect(answer.status).toBe(201)
    expect(answer.json).toEqual({ title: 'x' })
  })

  it('answers a body over the limit with a 413 problem', async () => {
    const answer = await send(`${url}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ big: 'x'.repeat(4096) }),
    })
    expectProblem(answer, 413, 'request.body_too_large')
  })

  it('answers an unknown route with a 404 problem', async () => {
    const answer = await send(`${url}/nope/nothing`)
    expectProblem(answer, 404, 'route.not_found')
  })

  it('answers a known path with another method with 405 and Allow', async () => {
    const answer = await send(`${url}/items/7`, { method: 'PUT' })
    expectProblem(answer, 405, 'route.method_not_allowed')
    const allow = String(answer.headers.allow).split(/,\s*/).sort()
    expect(allow).toEqual(expect.arrayContaining(['DELETE', 'GET']))
    expect(allow).not.toContain('PUT')
  })

  it('answers OPTIONS on a known path with 204, Allow and no body', async () => {
    for (const [path, allow] of [
      ['/open', 'GET, HEAD, OPTIONS'],
      ['/items/7', 'DELETE, GET, HEAD, OPTIONS'],
    ]) {
      const answer = await send(`${url}${path}`, { method: 'OPTIONS' })
      expect(answer.status).toBe(204)
      expect(answer.headers.allow).toBe(allow)
      expect(answer.text).toBe('')
      expect(answer.headers['content-type']).toBeUndefined()
      expect(answer.headers['x-request-id']).toMatch(GENERATED_ID)
    }
  })

  it('echoes the request ID on the answer to OPTIONS', async () => {
    const answer = await send(`${url}/open`, { method: 'OPTIONS', headers: { 'X-Request-Id': 'opt-1' } })
    expect(answer.status).toBe(204)
    expect(answer.headers['x-request-id']).toBe('opt-1')
  })

  it('answers OPTIONS on an unknown path with a 404 problem', async () => {
    const answer = await send(`${url}/nope/nothing`, { method: 'OPTIONS' })
    expectProblem(answer, 404, 'route.not_found')
  })

  it("leaves a route's own OPTIONS handler its answer", async () => {
    const answer = await send(`${url}/preflight`, { method: 'OPTIONS' })
    expect(answer.status).toBe(200)
    expect(answer.headers['x-preflight']).toBe('own')
    expect(answer.json).toEqual({ preflight: true })
    expect(answer.headers.allow).toBeUndefined()
  })

  it("answers OPTIONS with a 404 problem when the path's own OPTIONS route passes it on", async () => {
    const answer = await send(`${url}/declines`, { method: 'OPTIONS' })
    expectProblem(answer, 404, 'route.not_found')
    expect(answer.headers.allow).toBeUndefined()
  })

  it('lists a declared OPTIONS route in the Allow of a 405', async () => {
    const answer = await send(`${url}/preflight`, { method: 'PUT' })
    expectProblem(answer, 405, 'route.method_not_allowed')
    expect(answer.headers.allow).toBe('GET, HEAD, OPTIONS')
  })

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const good = await send(`${url}/deny`, { headers: { 'X-Request-Id': 'req-123.abc_DEF' } })
    expect(good.headers['x-request-id']).toBe('req-123.abc_DEF')
    expect(good.json.requestId).toBe('req-123.abc_DEF')
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '']) {
      const answer = await send(`${url}/deny`, { headers: { 'X-Request-Id': bad } })
      expect(answer.headers['x-request-id']).toMatch(GENERATED_ID)
    }
  })

  it('generates a request ID on successful responses', async () => {
    const answer = await send(`${url}/allow`)
    expect(answer.headers['x-request-id']).toMatch(GENERATED_ID)
  })

  it('gives guards the normalised path', async () => {
    const answer = await send(`${url}/path/%61bc;jsessionid=1`)
    expect(answer.status).toBe(200)
    expect(answer.headers['x-seen-path']).toBe('/path/abc')
  })

  it('answers malformed percent-encoding in the path with a 400 problem', async () => {
    const answer = await send(`${url}/path/%E0%A4%A`)
    expect(answer.status).toBe(400)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
  })
})

describe.each(harnesses)('$name adapter, requestIdHeader', (harness) => {
  const routes: AppSpec['routes'] = [
    { method: 'GET', path: '/allow', guards: [authenticates] },
    { method: 'GET', path: '/deny', guards: [denyMissingToken] },
  ]
  let renamed: RunningServer
  let silent: RunningServer

  beforeAll(async () => {
    renamed = await harness.start({ routes, requestIdHeader: 'X-Correlation-Id' })
    silent = await harness.start({ routes, requestIdHeader: false })
  })
  afterAll(async () => {
    await renamed.close()
    await silent.close()
  })

  it('reads and echoes the request ID in the header it names', async () => {
    for (const path of ['/allow', '/deny', '/nowhere']) {
      const answer = await send(`${renamed.url}${path}`, {
        headers: { 'X-Correlation-Id': 'corr-7', 'X-Request-Id': 'ignored-1' },
      })
      expect(answer.headers['x-correlation-id']).toBe('corr-7')
      expect(answer.headers['x-request-id']).toBeUndefined()
      if (answer.status >= 400) expect(answer.json.requestId).toBe('corr-7')
    }
    const fresh = await send(`${renamed.url}/deny`, { headers: { 'X-Correlation-Id': 'bad value' } })
    expect(fresh.headers['x-correlation-id']).toMatch(GENERATED_ID)
    expect(fresh.json.requestId).toBe(fresh.headers['x-correlation-id'])
  })

  it('sends no request ID header when it is false, and still names the ID in problems', async () => {
    const allowed = await send(`${silent.url}/allow`)
    expect(allowed.status).toBe(200)
    expect(allowed.headers['x-request-id']).toBeUndefined()
    for (const path of ['/deny', '/nowhere']) {
      const echoed = await send(`${silent.url}${path}`, { headers: { 'X-Request-Id': 'req-9' } })
      expect(echoed.status).toBeGreaterThanOrEqual(400)
      expect(echoed.headers['x-request-id']).toBeUndefined()
      expect(echoed.json.requestId).toBe('req-9')
      const generated = await send(`${silent.url}${path}`)
      expect(generated.json.requestId).toMatch(GENERATED_ID)
    }
  })

  it('refuses a requestIdHeader that is not a header name at startup', async () => {
    // Express and Koa throw while the app is built, Fastify when the plugin is registered.
    await expect((async () => harness.start({ routes, requestIdHeader: 'X Request Id' }))()).rejects.toThrow(
      /requestIdHeader must be a header name/,
    )
  })
})

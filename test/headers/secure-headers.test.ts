import type { Guard } from '@apiward/core'
import { PayloadTooLarge, Unauthorized, UnsupportedMediaType } from '@apiward/errors'
import { cors, secureHeaderSet, secureHeaders } from '@apiward/headers'
import { rateLimit } from '@apiward/ratelimit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Answer, send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

const PRESET: Record<string, string> = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
}

function expectSecureHeaders(answer: Answer, status: number): void {
  expect(answer.status).toBe(status)
  for (const [name, value] of Object.entries(PRESET)) expect(answer.headers[name], name).toBe(value)
  expect(answer.headers['x-powered-by']).toBeUndefined()
  expect(answer.text).not.toMatch(/at .+\.(?:ts|js):\d+/)
}

const denyWithoutToken: Guard = (ctx) => {
  if (ctx.req.header('authorization') === undefined) throw new Unauthorized({ code: 'auth.missing_token' })
}
const refuse =
  (error: () => Error): Guard =>
  () => {
    throw error()
  }

describe.each(harnesses)('$name: secureHeaders() installed first', (harness) => {
  let server: RunningServer
  let url: string
  beforeAll(async () => {
    server = await harness.start({
      firstGuards: [secureHeaders()],
      bodyLimit: 1024,
      routes: [
        { method: 'GET', path: '/ok' },
        { method: 'POST', path: '/echo', handler: ({ body }) => ({ status: 201, body }) },
        { method: 'GET', path: '/private', guards: [denyWithoutToken] },
        { method: 'GET', path: '/limited', guards: [rateLimit({ points: 1, duration: 60 })] },
        { method: 'GET', path: '/too-large', guards: [refuse(() => new PayloadTooLarge())] },
        { method: 'GET', path: '/unsupported', guards: [refuse(() => new UnsupportedMediaType())] },
        {
          method: 'GET',
          path: '/boom',
          handler: () => {
            throw new Error('database password is hunter2')
          },
        },
        { method: 'GET', path: '/passes', passes: true },
        {
          method: 'GET',
          path: '/own-cache',
          handler: () => ({ body: { ok: true }, headers: { 'Cache-Control': 'public, max-age=60' } }),
        },
      ],
    })
    url = server.url
  })
  afterAll(() => server.close())

  it('sends the API preset on a successful answer', async () => {
    expectSecureHeaders(await send(`${url}/ok`), 200)
  })

  it("lets a handler's own Cache-Control replace no-store on its answer", async () => {
    const answer = await send(`${url}/own-cache`)
    expect(answer.headers['cache-control']).toBe('public, max-age=60')
    expect(answer.headers['content-security-policy']).toBe(PRESET['content-security-policy'])
  })

  it('sends them on a 401 denial of a route guard', async () => {
    const answer = await send(`${url}/private`)
    expectSecureHeaders(answer, 401)
    expect(answer.json.code).toBe('auth.missing_token')
  })

  it('sends them on a 429 answer of rateLimit()', async () => {
    await send(`${url}/limited`)
    const answer = await send(`${url}/limited`)
    expectSecureHeaders(answer, 429)
    expect(answer.headers['retry-after']).toBeDefined()
  })

  it('sends them on 413 and 415 denials of guards', async () => {
    expectSecureHeaders(await send(`${url}/too-large`), 413)
    expectSecureHeaders(await send(`${url}/unsupported`), 415)
  })

  it('sends them on the generic 500 of a handler that throws', async () => {
    const answer = await send(`${url}/boom`)
    expectSecureHeaders(answer, 500)
    expect(answer.text).not.toContain('hunter2')
  })

  it("sends them on the framework's own 404 for an unknown route", async () => {
    const answer = await send(`${url}/nothing/here`)
    expectSecureHeaders(answer, 404)
    expect(answer.json.code).toBe('route.not_found')
  })

  it('sends them on the 404 of a route that passes the request on', async () => {
    expectSecureHeaders(await send(`${url}/passes`), 404)
  })

  it('sends them on a 405 with Allow and on the 204 answer to OPTIONS', async () => {
    const refused = await send(`${url}/ok`, { method: 'DELETE' })
    expectSecureHeaders(refused, 405)
    expect(refused.headers.allow).toContain('GET')
    const options = await send(`${url}/ok`, { method: 'OPTIONS' })
    expectSecureHeaders(options, 204)
  })

  it("sends them on the body parser's 400 for malformed JSON", async () => {
    const answer = await send(`${url}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"title": ',
    })
    expectSecureHeaders(answer, 400)
    expect(answer.json.code).toBe('request.malformed_body')
  })

  it('sends them on the 400 for an empty body whose type says JSON', async () => {
    const answer = await send(`${url}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': '0' },
    })
    expectSecureHeaders(answer, 400)
    expect(answer.json.code).toBe('request.malformed_body')
  })

  it("sends them on the body parser's 413 for a body over the limit", async () => {
    const answer = await send(`${url}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ big: 'x'.repeat(4096) }),
    })
    expectSecureHeaders(answer, 413)
  })
})

// Hono reads no body by itself, so it has no 415 of its own to check.
describe.each(harnesses.filter((h) => h.framework !== 'hono'))(
  "$name: secureHeaders() on the framework's own 415",
  (harness) => {
    let server: RunningServer
    beforeAll(async () => {
      server = await harness.start({
        firstGuards: [secureHeaders()],
        routes: [{ method: 'POST', path: '/echo', handler: ({ body }) => ({ status: 201, body }) }],
      })
    })
    afterAll(() => server.close())

    it('sends them on the 415 for a body the framework cannot read', async () => {
      // Fastify has no parser for XML; body-parser and co-body know no `x-unknown` encoding.
      const headers: Record<string, string> =
        harness.framework === 'fastify'
          ? { 'Content-Type': 'application/xml' }
          : { 'Content-Type': 'application/json', 'Content-Encoding': 'x-unknown' }
      const answer = await send(`${server.url}/echo`, { method: 'POST', headers, body: '{"a":1}' })
      expectSecureHeaders(answer, 415)
    })
  },
)

describe('secureHeaderSet()', () => {
  it('computes the preset once, with X-Powered-By among the removals', () => {
    const { headers, removed } = secureHeaderSet()
    expect(Object.fromEntries(headers)).toEqual(PRESET)
    expect(removed).toEqual(['x-powered-by'])
  })
})

describe.each(harnesses)('$name: the route inventory', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({
      firstGuards: [secureHeaders(), cors({ origins: ['https://app.example.test'] })],
      routes: [{ method: 'GET', path: '/ok' }],
    })
  })
  afterAll(() => server.close())

  it('lists the header guards installed first as covering every route', () => {
    const route = server.routes?.().find((r) => r.method === 'GET' && r.path === '/ok')
    expect(route?.guards.slice(0, 2)).toMatchObject([
      { name: 'secureHeaders', kind: 'headers', settings: { removed: ['x-powered-by'] } },
      {
        name: 'cors',
        kind: 'headers',
        settings: { origins: ['https://app.example.test'], credentials: false },
      },
    ])
  })
})

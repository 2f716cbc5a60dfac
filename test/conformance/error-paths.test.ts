import { connect } from 'node:net'
import type { Guard } from '@apiward/core'
import { Unauthorized } from '@apiward/errors'
import { createGuard as createExpressGuard, errorHandler as expressErrorHandler } from '@apiward/express'
import { apiward, guard as fastifyGuard } from '@apiward/fastify'
import express5 from 'express'
import fastify5, { type FastifyInstance } from 'fastify'
import fastify4 from 'fastify4'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from './client.js'
import { listen, type RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

const PROBLEM = /^application\/problem\+json/

interface RawAnswer {
  status: number
  headers: Record<string, string>
  json: any
}

/** Writes raw bytes on a fresh connection and parses what the server wrote before it closed. */
function sendRaw(url: string, bytes: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes))
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
    })
    // The server closes with bytes of ours unread, so a reset may follow its answer.
    socket.on('error', () => {})
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n')
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        json = undefined
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, json })
    })
  })
}

const denyWithoutToken: Guard = (ctx) => {
  if (ctx.req.header('authorization') === undefined) throw new Unauthorized({ code: 'auth.missing_token' })
}
const throwing =
  (value: unknown): Guard =>
  () => {
    throw value
  }
const rejecting =
  (value: unknown): Guard =>
  () =>
    Promise.reject(value)

describe.each(harnesses)('$name adapter: error paths', (harness) => {
  describe.each([false, true])(
    'a guard that fails with a falsy value (forwardErrors: %s)',
    (forwardErrors) => {
      let server: RunningServer
      const unexpected: unknown[] = []
      beforeAll(async () => {
        server = await harness.start({
          forwardErrors,
          onUnexpectedError: (err) => unexpected.push(err),
          routes: [
            { method: 'GET', path: '/throws-null', guards: [throwing(null)] },
            { method: 'GET', path: '/throws-undefined', guards: [throwing(undefined)] },
            { method: 'GET', path: '/throws-zero', guards: [throwing(0)] },
            { method: 'GET', path: '/rejects-null', guards: [rejecting(null)] },
          ],
        })
      })
      afterAll(() => server.close())

      it.each(['/throws-null', '/throws-undefined', '/throws-zero', '/rejects-null'])(
        'answers %s with a 500 problem, never reaching the handler, and reports an Error',
        async (path) => {
          unexpected.length = 0
          const answer = await send(server.url + path)
          expect(answer.status).toBe(500)
          expect(answer.headers['content-type']).toMatch(PROBLEM)
          expect(answer.json).toMatchObject({ status: 500, code: 'server.internal' })
          expect(answer.json.ok).toBeUndefined()
          expect(unexpected).toHaveLength(1)
          expect(unexpected[0]).toBeInstanceOf(Error)
        },
      )
    },
  )

  describe('an empty body whose type says JSON', () => {
    let server: RunningServer
    beforeAll(async () => {
      server = await harness.start({
        routes: [
          {
            method: 'POST',
            path: '/echo',
            guards: [],
            handler: ({ body }) => ({ body: { received: body } }),
          },
          {
            method: 'GET',
            path: '/echo',
            guards: [],
            handler: ({ body }) => ({ body: { received: body ?? null } }),
          },
        ],
      })
    })
    afterAll(() => server.close())

    const json = { 'Content-Type': 'application/json' }
    it.each([
      ['with Content-Length 0', { headers: json, body: '' }],
      ['sent chunked', { headers: { ...json, 'Transfer-Encoding': 'chunked' } }],
      ['without any length', { headers: json }],
    ])('is a 400 request.malformed_body %s, and the handler never sees {}', async (_how, request) => {
      const answer = await send(`${server.url}/echo`, { method: 'POST', ...request })
      expect(answer.status).toBe(400)
      expect(answer.headers['content-type']).toMatch(PROBLEM)
      expect(answer.json).toMatchObject({ status: 400, code: 'request.malformed_body' })
    })

    it('is not confused with a body of {} sent with its length', async () => {
      const answer = await send(`${server.url}/echo`, { method: 'POST', headers: json, body: '{}' })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ received: {} })
    })

    it('is not confused with a body of {} sent chunked', async () => {
      const answer = await sendRaw(
        server.url,
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
      )
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ received: {} })
    })

    it('is not refused on a GET, whose body nobody reads', async () => {
      const answer = await send(`${server.url}/echo`, { headers: { ...json, 'Content-Length': '0' } })
      expect(answer.status).toBe(200)
    })
  })

  describe('client errors Node raises before any framework code', () => {
    let server: RunningServer
    beforeAll(async () => {
      server = await harness.start({
        server: {
          maxHeaderSize: 1024,
          headersTimeout: 300,
          requestTimeout: 300,
          connectionsCheckingInterval: 50,
        },
        routes: [{ method: 'GET', path: '/open', guards: [] }],
      })
    })
    afterAll(() => server.close())

    it.each([
      ['a malformed request line', 400, 'request.malformed', 'GET /open HTTX/1.1\r\nHost: x\r\n\r\n'],
      [
        'headers over maxHeaderSize',
        431,
        'request.headers_too_large',
        `GET /open HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`,
      ],
      ['a request that stops arriving', 408, 'request.timeout', 'GET /open HTTP/1.1\r\nHost: x\r\n'],
    ])('answer %s with a %i problem+json %s', async (_what, status, code, bytes) => {
      const answer = await sendRaw(server.url, bytes)
      expect(answer.status).toBe(status)
      expect(answer.headers['content-type']).toMatch(PROBLEM)
      expect(answer.headers.connection).toBe('close')
      expect(answer.json).toMatchObject({ status, code })
      expect(answer.headers['x-request-id']).toBe(answer.json.requestId)
    })

    it('still serve well-formed requests', async () => {
      const answer = await send(`${server.url}/open`)
      expect(answer.status).toBe(200)
    })
  })

  describe('generated request IDs', () => {
    let server: RunningServer
    beforeAll(async () => {
      server = await harness.start({ routes: [{ method: 'GET', path: '/open', guards: [] }] })
    })
    afterAll(() => server.close())

    it('are random IDs that tell nothing of the requests between two of them', async () => {
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push(String((await send(`${server.url}/open`)).headers['x-request-id']))
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
      for (let i = 1; i < ids.length; i++) expect(ids[i]!.slice(0, 8)).not.toBe(ids[i - 1]!.slice(0, 8))
    })
  })
})

// Express reads a handler's thrown null or undefined as next(null), "go on", which only the
// framework sees (docs/adapters.md, "A handler that throws null"); Koa and Fastify see the throw.
describe.each(harnesses.filter((h) => h.framework !== 'express'))(
  '$name adapter: a handler that throws a falsy value',
  (harness) => {
    let server: RunningServer
    const unexpected: unknown[] = []
    beforeAll(async () => {
      server = await harness.start({
        onUnexpectedError: (err) => unexpected.push(err),
        routes: [
          {
            method: 'GET',
            path: '/null',
            handler: () => {
              throw null
            },
          },
          {
            method: 'GET',
            path: '/undefined',
            handler: async () => {
              throw undefined
            },
          },
        ],
      })
    })
    afterAll(() => server.close())

    it.each(['/null', '/undefined'])(
      'answers %s with a 500 problem reported to onUnexpectedError',
      async (path) => {
        unexpected.length = 0
        const answer = await send(server.url + path)
        expect(answer.status).toBe(500)
        expect(answer.headers['content-type']).toMatch(PROBLEM)
        expect(answer.json).toMatchObject({ code: 'server.internal' })
        expect(unexpected).toHaveLength(1)
      },
    )
  },
)

// Fastify has no parser for other JSON types and answers them 415 before any guard. Express 5's
// parser leaves an empty body unread (req.body stays undefined, nothing to mistake for {}), so
// there the guard that reads the body decides, in its place.
describe.each(harnesses.filter((h) => h.framework !== 'fastify' && h.name !== 'express5'))(
  '$name adapter: an empty body of a +json type',
  (harness) => {
    let server: RunningServer
    beforeAll(async () => {
      server = await harness.start({ routes: [{ method: 'PATCH', path: '/notes/:id', guards: [] }] })
    })
    afterAll(() => server.close())

    it('is a 400 request.malformed_body too', async () => {
      const answer = await send(`${server.url}/notes/1`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: '',
      })
      expect(answer.status).toBe(400)
      expect(answer.json).toMatchObject({ code: 'request.malformed_body' })
    })
  },
)

describe('Express 5: an async handler that rejects with a falsy value', () => {
  let server: RunningServer
  const unexpected: unknown[] = []
  beforeAll(async () => {
    const app = express5()
    const guard = createExpressGuard()
    app.get('/rejects', guard(), async () => {
      throw null
    })
    app.use(expressErrorHandler({ onUnexpectedError: (err) => unexpected.push(err) }))
    const { createServer } = await import('node:http')
    server = await listen(createServer(app))
  })
  afterAll(() => server.close())

  it('answers a 500 problem, since the router turns the rejection into an Error', async () => {
    const answer = await send(`${server.url}/rejects`)
    expect(answer.status).toBe(500)
    expect(answer.json).toMatchObject({ code: 'server.internal' })
    expect(unexpected).toHaveLength(1)
  })
})

describe.each([
  ['fastify5', fastify5],
  ['fastify4', fastify4 as unknown as typeof fastify5],
])('%s: guard() results spread into one route', (_name, factory) => {
  const handler = async () => ({ reached: true })
  const fixes = /List the guards in one guard\(a, b\) call, or concatenate the hook arrays/

  async function app(): Promise<FastifyInstance> {
    const instance = factory()
    await instance.register(apiward, { onUnexpectedError: () => {} })
    return instance
  }

  it('stop the app from starting, naming the route and the fix', async () => {
    const instance = await app()
    expect(() =>
      instance.get('/notes', { ...fastifyGuard(denyWithoutToken), ...fastifyGuard(() => {}) }, handler),
    ).toThrow(/GET \/notes: a later spread or property replaced the onRequest hooks/)
    expect(() =>
      instance.get('/notes', { ...fastifyGuard(denyWithoutToken), ...fastifyGuard(() => {}) }, handler),
    ).toThrow(fixes)
    await instance.close()
  })

  it('stop the app from starting when the route is declared in a plugin', async () => {
    const instance = await app()
    instance.register(async (scope) => {
      scope.post('/notes', { ...fastifyGuard(denyWithoutToken), onRequest: [] }, handler)
    })
    await expect(instance.ready()).rejects.toThrow(fixes)
  })

  it('leave an app with the guards in one call, or the hook arrays concatenated, starting and refusing', async () => {
    const instance = await app()
    const a = fastifyGuard(denyWithoutToken)
    const b = fastifyGuard(() => {})
    instance.get('/one-call', { ...fastifyGuard(denyWithoutToken, () => {}) }, handler)
    instance.get(
      '/concatenated',
      { onRequest: [...a.onRequest, ...b.onRequest], preHandler: [...a.preHandler, ...b.preHandler] },
      handler,
    )
    instance.get('/own-hooks-too', { ...a, onRequest: [(_q, _r, done) => done(), ...a.onRequest] }, handler)
    await instance.listen({ port: 0, host: '127.0.0.1' })
    const { port } = instance.server.address() as { port: number }
    try {
      for (const path of ['/one-call', '/concatenated', '/own-hooks-too']) {
        const refused = await send(`http://127.0.0.1:${port}${path}`)
        expect(refused.status).toBe(401)
        const allowed = await send(`http://127.0.0.1:${port}${path}`, {
          headers: { Authorization: 'Bearer x' },
        })
        expect(allowed.json).toEqual({ reached: true })
      }
    } finally {
      await instance.close()
    }
  })
})

import { jwt } from '@apiward/auth'
import { type AnySecurityEvent, SecurityEventBus } from '@apiward/core'
import { Unauthorized } from '@apiward/errors'
import { cors, secureHeaders } from '@apiward/headers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUDIENCE, ISSUER, type SigningKey, sign, signingKey } from '../auth/jwt-support.js'
import { type Answer, send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

const APP = 'https://app.example.test'
const REFUSED_ORIGINS = [
  'https://evil.test',
  'null',
  'https://app.example.test.evil.test',
  'https://app.example.test.',
  'HTTPS://APP.EXAMPLE.TEST',
  'https://App.Example.Test',
  'http://app.example.test',
  'https://app.example.test:443',
  'https://app.example.test/',
  'https://pr-1.preview.example.test.evil.test',
  'https://pr-1.preview.example.testx',
]

const corsHeaders = (answer: Answer) =>
  Object.keys(answer.headers).filter((h) => h.startsWith('access-control-'))
const varyOf = (answer: Answer) =>
  String(answer.headers.vary ?? '')
    .split(/\s*,\s*/)
    .filter((m) => m !== '')

let key: SigningKey
let token: string
beforeAll(async () => {
  key = await signingKey('ES256', 'cors-1')
  token = await sign(key)
})

describe.each(harnesses)('$name: cors() installed first', (harness) => {
  let server: RunningServer
  let url: string
  let handled = 0
  const events: AnySecurityEvent[] = []
  beforeAll(async () => {
    const bus = new SecurityEventBus()
    bus.on((event) => events.push(event))
    const auth = jwt({
      jwks: { keys: [key.publicJwk] },
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      events: bus,
    })
    const counted = () => {
      handled++
      return { status: 200, body: { ok: true } }
    }
    server = await harness.start({
      events: bus,
      firstGuards: [
        secureHeaders(),
        cors({ origins: [APP, /^https:\/\/[a-z0-9-]+\.preview\.example\.test$/], credentials: true }),
      ],
      routes: [
        { method: 'GET', path: '/notes', guards: [auth], handler: counted },
        { method: 'PUT', path: '/notes/:id', guards: [auth], handler: counted },
        {
          method: 'GET',
          path: '/negotiated',
          handler: () => ({ body: { ok: true }, headers: { Vary: 'Accept-Encoding' } }),
        },
      ],
    })
    url = server.url
  })
  afterAll(() => server.close())

  const authEvents = (requestId: unknown) =>
    events.filter((e) => e.requestId === requestId && e.type.startsWith('auth.'))

  it('lets an allowed origin read an answer, with credentials and the exposed headers', async () => {
    const answer = await send(`${url}/notes`, { headers: { Origin: APP, Authorization: `Bearer ${token}` } })
    expect(answer.status).toBe(200)
    expect(answer.headers['access-control-allow-origin']).toBe(APP)
    expect(answer.headers['access-control-allow-credentials']).toBe('true')
    const exposed = String(answer.headers['access-control-expose-headers']).split(', ')
    expect(exposed).toEqual(
      expect.arrayContaining(['X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After']),
    )
    expect(varyOf(answer)).toContain('Origin')
    expect(answer.headers['access-control-allow-methods']).toBeUndefined()
  })

  it('lets an allowed origin read a 401, so the page sees why it was refused', async () => {
    const answer = await send(`${url}/notes`, { headers: { Origin: APP } })
    expect(answer.status).toBe(401)
    expect(answer.headers['access-control-allow-origin']).toBe(APP)
    expect(varyOf(answer)).toContain('Origin')
  })

  it('allows an origin that an anchored pattern matches', async () => {
    const origin = 'https://pr-1.preview.example.test'
    const answer = await send(`${url}/negotiated`, { headers: { Origin: origin } })
    expect(answer.headers['access-control-allow-origin']).toBe(origin)
  })

  it.each(REFUSED_ORIGINS)(
    'sends no CORS header at all to the origin %s, only Vary: Origin',
    async (origin) => {
      const answer = await send(`${url}/notes`, {
        headers: { Origin: origin, Authorization: `Bearer ${token}` },
      })
      expect(answer.status).toBe(200)
      expect(corsHeaders(answer)).toEqual([])
      expect(varyOf(answer)).toContain('Origin')
    },
  )

  it('says Vary: Origin on an answer without Origin, and on the 404 of an unknown route', async () => {
    expect(varyOf(await send(`${url}/negotiated`))).toContain('Origin')
    const missing = await send(`${url}/nothing`, { headers: { Origin: APP } })
    expect(missing.status).toBe(404)
    expect(varyOf(missing)).toContain('Origin')
    expect(missing.headers['access-control-allow-origin']).toBe(APP)
  })

  it("appends Origin to the handler's own Vary instead of losing it", async () => {
    const answer = await send(`${url}/negotiated`, { headers: { Origin: APP } })
    expect(varyOf(answer)).toEqual(expect.arrayContaining(['Accept-Encoding', 'Origin']))
  })

  it('answers a preflight of an allowed origin at once, before jwt() and the handler', async () => {
    const before = handled
    const answer = await send(`${url}/notes/7`, {
      method: 'OPTIONS',
      headers: {
        Origin: APP,
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    })
    expect(answer.status).toBe(204)
    expect(answer.text).toBe('')
    expect(answer.headers['access-control-allow-origin']).toBe(APP)
    expect(answer.headers['access-control-allow-credentials']).toBe('true')
    expect(answer.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE')
    expect(answer.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, X-Request-Id')
    expect(answer.headers['access-control-max-age']).toBe('600')
    expect(varyOf(answer)).toContain('Origin')
    expect(answer.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'")
    expect(handled).toBe(before)
    expect(authEvents(answer.headers['x-request-id'])).toEqual([])
  })

  it.each(REFUSED_ORIGINS)(
    'answers a preflight of the origin %s with a bare 204 that never reaches jwt() or the handler',
    async (origin) => {
      const before = handled
      const answer = await send(`${url}/notes`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'GET',
          Authorization: 'Bearer not-a-token',
        },
      })
      expect(answer.status).toBe(204)
      expect(corsHeaders(answer)).toEqual([])
      expect(varyOf(answer)).toContain('Origin')
      expect(handled).toBe(before)
      expect(authEvents(answer.headers['x-request-id'])).toEqual([])
    },
  )

  it('reports a refused origin as a cors.origin_refused event', async () => {
    const answer = await send(`${url}/negotiated`, { headers: { Origin: 'https://evil.test' } })
    const event = events.find(
      (e) => e.requestId === answer.headers['x-request-id'] && e.type === 'cors.origin_refused',
    )
    expect(event).toMatchObject({ origin: 'https://evil.test', preflight: false, severity: 'warn' })
  })

  it("leaves an OPTIONS request that is no preflight to the adapter's 204 with Allow", async () => {
    const answer = await send(`${url}/notes`, { method: 'OPTIONS', headers: { Origin: APP } })
    expect(answer.status).toBe(204)
    expect(answer.headers.allow).toContain('GET')
    expect(answer.headers['access-control-allow-methods']).toBeUndefined()
  })
})

describe.each(harnesses)('$name: cors() of a public API and of the null origin', (harness) => {
  let open: RunningServer
  let sandboxed: RunningServer
  beforeAll(async () => {
    open = await harness.start({
      firstGuards: [cors({ origins: '*' })],
      routes: [{ method: 'GET', path: '/feed' }],
    })
    sandboxed = await harness.start({
      firstGuards: [cors({ origins: [APP], dangerouslyAllowNullOrigin: true })],
      routes: [{ method: 'GET', path: '/feed' }],
    })
  })
  afterAll(async () => {
    await open.close()
    await sandboxed.close()
  })

  it("answers every origin with * and never with credentials when origins is '*'", async () => {
    const answer = await send(`${open.url}/feed`, { headers: { Origin: 'https://anyone.test' } })
    expect(answer.headers['access-control-allow-origin']).toBe('*')
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined()
    const preflight = await send(`${open.url}/feed`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://anyone.test', 'Access-Control-Request-Method': 'GET' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('*')
  })

  it('allows the null origin only where dangerouslyAllowNullOrigin says so', async () => {
    const allowed = await send(`${sandboxed.url}/feed`, { headers: { Origin: 'null' } })
    expect(allowed.headers['access-control-allow-origin']).toBe('null')
    const refused = await send(`${open.url}/feed`, { headers: { Origin: 'null' } })
    expect(refused.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe.each(harnesses)('$name: cors() and secureHeaders() with forwardErrors', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({
      forwardErrors: true,
      firstGuards: [secureHeaders(), cors({ origins: [APP] })],
      routes: [
        {
          method: 'GET',
          path: '/notes',
          guards: [
            () => {
              throw new Unauthorized()
            },
          ],
        },
      ],
    })
  })
  afterAll(() => server.close())

  it('answers a preflight handed to the error handling with its CORS headers', async () => {
    const answer = await send(`${server.url}/notes`, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'GET' },
    })
    expect(answer.status).toBe(204)
    expect(answer.headers['access-control-allow-origin']).toBe(APP)
    expect(answer.headers['x-content-type-options']).toBe('nosniff')
  })

  it('keeps the CORS and secure headers on a denial the error handling renders', async () => {
    const answer = await send(`${server.url}/notes`, { headers: { Origin: APP } })
    expect(answer.status).toBe(401)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(answer.headers['access-control-allow-origin']).toBe(APP)
    expect(answer.headers['cache-control']).toBe('no-store')
  })
})

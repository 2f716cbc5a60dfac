import { createHmac, randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { jwt } from '@apiward/auth'
import { SecurityEventBus } from '@apiward/core'
import { apiStack } from '@apiward/presets'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Answer, send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

const SECRET = randomBytes(32)
const ISSUER = 'https://issuer.example.test/'
const AUDIENCE = 'notes-api'
const ORIGIN = 'https://app.example.test'

function token(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000)
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600, ...claims })}`
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
}

// A subject per test: each has a per-principal budget of its own.
const reader = (sub: string) => token({ sub, scope: 'notes:read' })
const writer = token({ sub: 'bob', scope: 'notes:read notes:write' })
const bearer = (value: string) => ({ authorization: `Bearer ${value}` })

const NOTE = {
  type: 'object',
  properties: { title: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['title'],
} as const

/** A fresh stack per server: budgets of 3 per minute, an audit log into memory. */
function build() {
  const events = new SecurityEventBus()
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line))
      done()
    },
  })
  const stack = apiStack({
    authenticate: jwt({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, realm: 'notes-api' }),
    cors: { origins: [ORIGIN] },
    rateLimit: { points: 3, duration: 60, exempt: ['/health'] },
    realm: 'notes-api',
    apiVersion: { supported: ['1', '2'], default: '2' },
    audit: { destination: { stream: sink }, events, bufferBytes: 1, flushIntervalMs: 10 },
  })
  return { events, lines, stack }
}

for (const harness of harnesses) {
  describe(`apiStack() on ${harness.name}`, () => {
    let app: RunningServer
    let built: ReturnType<typeof build>
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) =>
      send(app.url + path, { method, headers, body })

    beforeAll(async () => {
      built = build()
      const { stack, events } = built
      app = await harness.start({
        events,
        bodyParser: false,
        routing: { caseSensitive: true, strictSlash: true },
        firstGuards: [...stack.edge],
        routes: [
          { method: 'GET', path: '/health' },
          { method: 'GET', path: '/notes', guards: stack.route({ scopes: ['notes:read'] }) },
          {
            method: 'POST',
            path: '/notes',
            guards: stack.route({ scopes: ['notes:write'], validate: { body: NOTE } }),
            handler: (input) => ({ status: 201, body: { created: true, by: input.auth?.id } }),
          },
          { method: 'POST', path: '/login', guards: stack.open({ validate: { body: NOTE } }) },
        ],
      })
    })
    afterAll(async () => {
      await app?.close()
      await built?.stack.audit?.close()
    })

    const policy = (answer: Answer) => answer.headers['ratelimit-policy']

    it('names only the per-principal policy on an authenticated request, whose per-IP point goes back', async () => {
      for (const sub of ['alice', 'alice', 'alice', 'carol']) {
        const answer = await get('/notes', bearer(reader(sub)))
        expect(answer.status).toBe(200)
        expect(policy(answer)).toBe('"client";q=3;w=60')
      }
      const fourth = await get('/notes', bearer(reader('alice')))
      expect(fourth.status).toBe(429)
      expect(policy(fourth)).toBe('"client";q=3;w=60')
      // Five authenticated requests from one IP with a per-IP budget of 3: none of them spent it.
      const anonymous = await get('/notes')
      expect(anonymous.status).toBe(401)
      expect(policy(anonymous)).toBe('"anonymous";q=3;w=60')
      expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="notes-api"')
    })

    it('answers a CORS preflight before authentication, uncounted, and an exempt path without limit headers', async () => {
      const preflight = await get(
        '/notes',
        { origin: ORIGIN, 'access-control-request-method': 'POST' },
        'OPTIONS',
      )
      expect(preflight.status).toBe(204)
      expect(preflight.headers['access-control-allow-origin']).toBe(ORIGIN)
      expect(policy(preflight)).toBeUndefined()
      const health = await get('/health')
      expect(health.status).toBe(200)
      expect(policy(health)).toBeUndefined()
      expect(health.headers['x-content-type-options']).toBe('nosniff')
      expect(health.headers['content-security-policy']).toMatch(
        /^default-src 'none'; ?frame-ancestors 'none'$/,
      )
    })

    it('refuses a malformed path before the budgets, with the secure headers and no limit headers', async () => {
      const answer = await send(`${app.url}/notes`, { target: '/notes/%zz' })
      expect(answer.status).toBe(400)
      expect(answer.json.code).toBe('request.invalid_path')
      expect(policy(answer)).toBeUndefined()
    })

    it('checks the scope before the body, and names an unknown body property after authentication', async () => {
      const json = { 'content-type': 'application/json' }
      const unauthenticated = await get('/notes', json, 'POST', '{"title":"x","isAdmin":true}')
      expect(unauthenticated.status).toBe(401)
      const noScope = await get('/notes', { ...json, ...bearer(reader('dave')) }, 'POST', '{"isAdmin":true}')
      expect(noScope.status).toBe(403)
      expect(noScope.headers['www-authenticate']).toBe(
        'Bearer realm="notes-api", error="insufficient_scope", scope="notes:write"',
      )
      const massAssignment = await get(
        '/notes',
        { ...json, ...bearer(writer) },
        'POST',
        '{"title":"x","isAdmin":true}',
      )
      expect(massAssignment.status).toBe(400)
      expect(massAssignment.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(massAssignment.json.errors).toEqual([
        expect.objectContaining({ in: 'body', pointer: '/isAdmin', keyword: 'additionalProperties' }),
      ])
      const created = await get('/notes', { ...json, ...bearer(writer) }, 'POST', '{"title":"x"}')
      expect(created.status).toBe(201)
      expect(created.json).toEqual({ created: true, by: 'bob' })
    })

    it('refuses an unsupported Api-Version before authentication', async () => {
      const answer = await get('/notes', { 'api-version': '3', ...bearer(reader('erin')) })
      expect(answer.status).toBe(400)
      expect(answer.json.code).toBe('request.unsupported_version')
    })

    it('spends the per-IP budget on failed credentials until a valid token from that IP is refused too', async () => {
      // The earlier tests spent part of this IP's budget already; bad tokens spend the rest.
      const statuses: number[] = []
      for (let i = 0; i < 4 && statuses.at(-1) !== 429; i++)
        statuses.push((await get('/notes', bearer('not.a.token'))).status)
      expect(statuses.at(-1)).toBe(429)
      expect(statuses.slice(0, -1).every((status) => status === 401)).toBe(true)
      const refused = await get('/notes', bearer(reader('frank')))
      expect(refused.status).toBe(429)
      expect(refused.json.code).toBe('ratelimit.exceeded')
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
      const open = await get('/login', { 'content-type': 'application/json' }, 'POST', '{"title":"x"}')
      expect(open.status).toBe(429)
    })

    it('exempts only the path as written: with the budget spent, another spelling of it is refused', async () => {
      const exempt = await get('/health')
      expect(exempt.status).toBe(200)
      const spelled = await send(`${app.url}/health`, { target: '/./health' })
      expect(spelled.status).toBe(429)
      expect(policy(spelled)).toBe('"anonymous";q=3;w=60')
    })

    it('writes the security events and every answered request to the audit log', async () => {
      await built.stack.audit?.flush()
      const events = new Set(built.lines.map((line) => line.event))
      expect(events).toContain('auth.failure')
      expect(events).toContain('ratelimit.exceeded')
      expect(events).toContain('validation.rejected')
      const completed = built.lines.filter((line) => line.event === 'request.completed')
      expect(completed.some((line) => line.principal === 'bob' && line.status === 201)).toBe(true)
      const text = JSON.stringify(built.lines)
      expect(text).not.toContain(writer.split('.')[2])
    })
  })
}

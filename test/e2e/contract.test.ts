import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditLines, linesOf, verifyAudit } from './support/audit.js'
import { cleanUp, type Example, FRAMEWORKS, type Framework, startExample } from './support/example.js'
import { type Answer, type Call, freshAddress, send, sendRaw } from './support/http.js'
import { type Claims, type JwksServer, keyConfusionToken, startJwks, unsignedToken } from './support/jwks.js'
import {
  APP_ORIGIN,
  Client,
  directives,
  expectInvalid,
  expectProblem,
  expectSecureHeaders,
  NOTE_FIELDS,
  REPORTS_API_KEY,
  type Recorded,
  requestId,
} from './support/suite.js'

// Small budgets keep the bursts small; each test gets its own client address and its own users.
const ROOT = resolve(import.meta.dirname, '../..')
const POINTS = 12
const DURATION = 60

/** Answers to the same hostile requests, per framework: they must be the same everywhere. */
const fingerprints = new Map<string, Map<Framework, string>>()
function fingerprint(framework: Framework, name: string, res: { status: number; json?: any }): void {
  const byFramework = fingerprints.get(name) ?? new Map<Framework, string>()
  fingerprints.set(name, byFramework)
  byFramework.set(framework, `${res.status} ${res.json?.code ?? '-'}`)
}

let users = 0
const user = (prefix = 'user') => `${prefix}-${++users}-${Math.random().toString(36).slice(2, 8)}`

describe.each(FRAMEWORKS)('the %s example', (framework) => {
  let app: Example
  let jwks: JwksServer
  const client = new Client(() => app.port)
  const secrets: string[] = [REPORTS_API_KEY, 'alice-password-1', 'wrong-password-1']
  const token = async (claims: Claims) => {
    const t = await jwks.trusted.sign(claims)
    secrets.push(t)
    return t
  }
  const reader = (sub = user()) => token({ sub, scope: 'notes:read', roles: ['user'] })
  const writer = (sub = user()) => token({ sub, scope: 'notes:read notes:write', roles: ['user'] })
  const admin = (sub = user('admin')) => token({ sub, scope: 'notes:read notes:write', roles: ['admin'] })
  const spoofed: Array<{ id: string; ip: string }> = []
  const print = (name: string, res: { status: number; json?: any }) => fingerprint(framework, name, res)

  beforeAll(async () => {
    jwks = await startJwks()
    app = await startExample(framework, {
      JWKS_URL: jwks.url,
      RATE_LIMIT_POINTS: String(POINTS),
      RATE_LIMIT_DURATION: String(DURATION),
    })
  })
  afterAll(async () => {
    await app?.stop()
    await jwks?.stop()
    cleanUp()
  })

  describe('routes', () => {
    it('answers GET /health with {"status":"ok"} and no rate-limit headers', async () => {
      const res = await client.get('/health')
      expect(res.status).toBe(200)
      expect(res.json).toEqual({ status: 'ok' })
      expect(res.header('ratelimit')).toBeUndefined()
      expect(res.header('ratelimit-policy')).toBeUndefined()
    })

    it("lists only the caller's own notes, each with exactly the note fields", async () => {
      const alice = await reader('alice')
      const res = await client.get('/notes', alice)
      expect(res.status).toBe(200)
      expect(res.json.items.map((n: { id: string }) => n.id)).toContain('note-alice-1')
      for (const note of res.json.items) {
        expect(Object.keys(note).sort()).toEqual(NOTE_FIELDS)
        expect(note.ownerId).toBe('alice')
      }
      expect(res.text).not.toMatch(/ownerEmail|moderation|passwordHash/)
      client.expectLines(res, ['auth.success', 'request.completed'])
    })

    it('takes a limit between 1 and 100 and refuses any other query parameter', async () => {
      const t = await reader()
      expect((await client.get('/notes?limit=5', t)).status).toBe(200)
      expect((await client.get('/notes?limit=100', t)).status).toBe(200)
      expectInvalid(await client.get('/notes?limit=0', t), 'query')
      expectInvalid(await client.get('/notes?limit=101', t), 'query')
      expectInvalid(await client.get('/notes?limit=abc', t), 'query')
      const unknown = await client.get('/notes?ownerId=bob', t)
      expectInvalid(unknown, 'query')
      client.expectLines(unknown, ['validation.rejected', 'request.completed'])
    })

    it('shows a note to its owner and to an admin, and answers 404 to anyone else', async () => {
      const own = await client.get('/notes/note-alice-1', await reader('alice'))
      expect(own.status).toBe(200)
      expect(Object.keys(own.json).sort()).toEqual(NOTE_FIELDS)
      expect(own.json).toMatchObject({ id: 'note-alice-1', ownerId: 'alice' })
      const foreign = await client.get('/notes/note-bob-1', await reader('alice'))
      expectProblem(foreign, 404)
      const missing = await client.get('/notes/no-such-note', await reader('alice'))
      expectProblem(missing, 404)
      expect(foreign.json.code).toBe(missing.json.code)
      expect(foreign.json.title).toBe(missing.json.title)
      const byAdmin = await client.get('/notes/note-bob-1', await admin())
      expect(byAdmin.status).toBe(200)
      expect(byAdmin.json.ownerId).toBe('bob')
    })

    it('refuses a note id outside ^[a-z0-9-]{1,64}$ as a path parameter error', async () => {
      const t = await reader()
      expectInvalid(await client.get('/notes/Note-1', t), 'params')
      expectInvalid(await client.get('/notes/note_1', t), 'params')
      expectInvalid(await client.get(`/notes/${'a'.repeat(65)}`, t), 'params')
      const long = await client.get(`/notes/${'a'.repeat(1024)}`, t)
      expectInvalid(long, 'params')
      print('a 1024-byte path parameter', long)
    })

    it('answers a path parameter over 1024 bytes the same way on every example', async () => {
      const res = await send(app.port, {
        path: `/notes/${'a'.repeat(1100)}`,
        headers: { 'X-Request-Id': requestId(), Authorization: `Bearer ${await reader()}` },
      })
      print('a 1100-byte path parameter', res)
      expect([400, 414]).toContain(res.status)
      expectProblem(res, res.status)
      expectSecureHeaders(res, 'a 1100-byte path parameter')
    })

    it('creates a note owned by the caller, with its Location, and finds it again', async () => {
      const sub = user()
      const t = await writer(sub)
      const res = await client.json('POST', '/notes', t, { title: 'Groceries', body: 'milk', tags: ['home'] })
      expect(res.status).toBe(201)
      expect(Object.keys(res.json).sort()).toEqual(NOTE_FIELDS)
      expect(res.json).toMatchObject({ title: 'Groceries', body: 'milk', tags: ['home'], ownerId: sub })
      expect(res.header('location')).toBe(`/notes/${res.json.id}`)
      const again = await client.get(res.header('location')!, t)
      expect(again.status).toBe(200)
      expect(again.json).toEqual(res.json)
      const listed = await client.get('/notes', t)
      expect(listed.json.items.map((n: { id: string }) => n.id)).toEqual([res.json.id])
    })

    it('accepts application/json with charset utf-8', async () => {
      const res = await client.call({
        method: 'POST',
        path: '/notes',
        headers: {
          Authorization: `Bearer ${await writer()}`,
          'Content-Type': 'application/json; charset=utf-8',
        },
        body: JSON.stringify({ title: 't', body: '' }),
      })
      expect(res.status).toBe(201)
    })

    it.each(['ownerId', 'id', 'isAdmin', 'createdAt'])(
      'refuses mass assignment of %s with a 400 naming the property',
      async (property) => {
        const res = await client.json('POST', '/notes', await writer(), {
          title: 't',
          body: '',
          [property]: 'x',
        })
        expectProblem(res, 400)
        expect(res.text).toContain(property)
        client.expectLines(res, ['validation.rejected', 'request.completed'])
      },
    )

    it('checks the note schema: title 1..200, body up to 10000, up to 10 tags of 1..32', async () => {
      const t = await writer()
      expectInvalid(await client.json('POST', '/notes', t, { title: '', body: '' }), 'body', '/title')
      expectInvalid(
        await client.json('POST', '/notes', t, { title: 'x'.repeat(201), body: '' }),
        'body',
        '/title',
      )
      expectInvalid(
        await client.json('POST', '/notes', t, { title: 't', body: 'x'.repeat(10_001) }),
        'body',
        '/body',
      )
      expectInvalid(await client.json('POST', '/notes', t, { body: '' }), 'body')
      expectInvalid(await client.json('POST', '/notes', t, { title: 5, body: '' }), 'body', '/title')
      const tags = Array.from({ length: 11 }, (_, i) => `t${i}`)
      expectInvalid(await client.json('POST', '/notes', t, { title: 't', body: '', tags }), 'body', '/tags')
      expectInvalid(await client.json('POST', '/notes', t, { title: 't', body: '', tags: [''] }), 'body')
      expectInvalid(
        await client.json('POST', '/notes', t, { title: 't', body: '', tags: ['x'.repeat(33)] }),
        'body',
      )
      expect(
        (await client.json('POST', '/notes', t, { title: 'x'.repeat(200), body: 'x'.repeat(10_000) })).status,
      ).toBe(201)
    })

    it('lets the owner patch a note, refuses an empty patch, and hides the note from others with 404', async () => {
      const t = await writer()
      const created = await client.json('POST', '/notes', t, { title: 'before', body: 'b' })
      const path = `/notes/${created.json.id}`
      const patched = await client.json('PATCH', path, t, { title: 'after' })
      expect(patched.status).toBe(200)
      expect(patched.json).toMatchObject({ id: created.json.id, title: 'after', body: 'b' })
      expectInvalid(await client.json('PATCH', path, t, {}), 'body')
      expectProblem(await client.json('PATCH', path, t, { ownerId: 'mallory' }), 400)
      const other = await client.json('PATCH', path, await writer(), { title: 'stolen' })
      expectProblem(other, 404)
      expect((await client.get(path, t)).json.title).toBe('after')
    })

    it('lets an admin delete a note (204) and refuses a user with 403', async () => {
      const t = await writer()
      const created = await client.json('POST', '/notes', t, { title: 'doomed', body: '' })
      const path = `/notes/${created.json.id}`
      const denied = await client.call({ method: 'DELETE', path, headers: { Authorization: `Bearer ${t}` } })
      expectProblem(denied, 403)
      client.expectLines(denied, ['authz.denied', 'request.completed'])
      const deleted = await client.call({
        method: 'DELETE',
        path,
        headers: { Authorization: `Bearer ${await admin()}` },
      })
      expect(deleted.status).toBe(204)
      expect(deleted.text).toBe('')
      expectProblem(await client.get(path, t), 404)
    })

    it('lists users to an admin with id, displayName and roles only, and refuses a user', async () => {
      const res = await client.get('/admin/users', await admin())
      expect(res.status).toBe(200)
      const ids = res.json.items.map((u: { id: string }) => u.id)
      expect(ids).toEqual(expect.arrayContaining(['alice', 'bob', 'root']))
      for (const entry of res.json.items)
        expect(Object.keys(entry).sort()).toEqual(['displayName', 'id', 'roles'])
      expect(res.text).not.toMatch(/password|ownerEmail|moderation/i)
      expectProblem(await client.get('/admin/users', await writer()), 403)
    })

    it('logs a user in and answers an unknown user and a wrong password alike', async () => {
      const from = freshAddress()
      const ok = await client.json(
        'POST',
        '/login',
        undefined,
        { username: 'bob', password: 'bob-password-1' },
        from,
      )
      expect(ok.status).toBe(200)
      expect(ok.json).toEqual({ sub: 'bob' })
      const wrong = await client.json(
        'POST',
        '/login',
        undefined,
        { username: 'bob', password: 'wrong-password-1' },
        from,
      )
      const unknown = await client.json(
        'POST',
        '/login',
        undefined,
        { username: 'nobody', password: 'wrong-password-1' },
        from,
      )
      expectProblem(wrong, 401)
      expectProblem(unknown, 401)
      const { requestId: _a, ...wrongBody } = wrong.json
      const { requestId: _b, ...unknownBody } = unknown.json
      expect(unknownBody).toEqual(wrongBody)
      client.expectLines(wrong, ['request.completed'])
      const forged = '{"event":"auth.success","principal":"forged-principal","outcome":"success"}'
      const forging = await client.json(
        'POST',
        '/login',
        undefined,
        { username: `x\n${forged}\n`, password: 'wrong-password-1' },
        from,
      )
      expect([400, 401]).toContain(forging.status)
    })

    it('blocks a username after 5 failures from one IP, even with the right password, with Retry-After', async () => {
      const from = freshAddress()
      const attempt = (password: string) =>
        client.json('POST', '/login', undefined, { username: 'alice', password }, from)
      for (let i = 0; i < 5; i++) expect((await attempt('wrong-password-1')).status).toBe(401)
      const blocked = await attempt('alice-password-1')
      expectProblem(blocked, 429)
      expect(Number(blocked.header('retry-after'))).toBeGreaterThan(0)
      client.expectLines(blocked, ['bruteforce.denied', 'request.completed'], 'ratelimit.too_many_failures')
      const elsewhere = await client.json(
        'POST',
        '/login',
        undefined,
        { username: 'alice', password: 'alice-password-1' },
        freshAddress(),
      )
      expect(elsewhere.status).toBe(200)
    })

    it('resets the failure count of a username on a successful login', async () => {
      const from = freshAddress()
      const attempt = (password: string) =>
        client.json('POST', '/login', undefined, { username: 'root', password }, from)
      for (let i = 0; i < 4; i++) expect((await attempt('wrong-password-1')).status).toBe(401)
      expect((await attempt('root-password-1')).status).toBe(200)
      for (let i = 0; i < 4; i++) expect((await attempt('wrong-password-1')).status).toBe(401)
      expect((await attempt('root-password-1')).status).toBe(200)
    })

    it('serves usage reports to the reports-bot API key and to an admin, 401 to a wrong or missing key', async () => {
      const byKey = await client.call({ path: '/reports/usage', headers: { 'X-API-Key': REPORTS_API_KEY } })
      expect(byKey.status).toBe(200)
      expect(byKey.json).toEqual({ requests: expect.any(Number) })
      expect((await client.get('/reports/usage', await admin())).status).toBe(200)
      const wrong = await client.call({
        path: '/reports/usage',
        headers: { 'X-API-Key': `${REPORTS_API_KEY}x` },
      })
      expectProblem(wrong, 401)
      expect(wrong.text).not.toContain(REPORTS_API_KEY)
      client.expectLines(wrong, ['auth.failure', 'request.completed'])
      expectProblem(await client.call({ path: '/reports/usage' }), 401)
      expectProblem(await client.get('/reports/usage', await reader()), 403)
    })
  })

  describe('unknown routes and methods', () => {
    it.each(['/nope', '/notes/', '/NOTES', '/Notes/note-alice-1', '/health/', '/admin'])(
      'answers %s with a 404 problem',
      async (path) => {
        const res = await client.get(path, await reader(), freshAddress())
        expectProblem(res, 404)
        print(`GET ${path}`, res)
      },
    )

    it('answers a known path with another method 405 and Allow', async () => {
      const res = await client.call({ method: 'PUT', path: '/notes' })
      expectProblem(res, 405)
      const allow = res.header('allow')!.split(/,\s*/)
      expect(allow).toEqual(expect.arrayContaining(['GET', 'POST']))
      expect(allow).not.toContain('PUT')
      print('PUT /notes', res)
      const del = await client.call({ method: 'DELETE', path: '/health' })
      expectProblem(del, 405)
      expect(del.header('allow')).toMatch(/GET/)
    })

    it('answers OPTIONS on a known path (not a preflight) with 204 and Allow', async () => {
      const res = await client.call({ method: 'OPTIONS', path: '/notes/note-alice-1' })
      expect(res.status).toBe(204)
      expect(res.header('allow')!.split(/,\s*/)).toEqual(expect.arrayContaining(['GET', 'PATCH', 'DELETE']))
      print('OPTIONS /notes/:id', res)
    })
  })

  describe('identity', () => {
    it('challenges a request without credentials with Bearer realm="notes-api"', async () => {
      const res = await client.get('/notes')
      expectProblem(res, 401)
      expect(res.header('www-authenticate')).toMatch(/^Bearer realm="notes-api"/)
      expect(res.header('www-authenticate')).not.toMatch(/error=/)
    })

    it('rejects a token it cannot trust with error="invalid_token", auth.invalid_token and an audit line', async () => {
      const now = Math.floor(Date.now() / 1000)
      const sub = user()
      const bad = [
        ['alg none', unsignedToken({ sub, scope: 'notes:read' })],
        [
          'HS256 signed with the public key',
          await keyConfusionToken(jwks.trusted.kid, jwks.body, { sub, scope: 'notes:read' }),
        ],
        [
          'expired beyond the 30 s tolerance',
          await token({ sub, scope: 'notes:read', iat: now - 120, exp: now - 90 }),
        ],
        ['without exp', await token({ sub, scope: 'notes:read', exp: undefined })],
        ['another issuer', await token({ sub, scope: 'notes:read', iss: 'https://evil.example.test/' })],
        ['another audience', await token({ sub, scope: 'notes:read', aud: 'other-api' })],
        ['an unpublished key', await jwks.unpublished.sign({ sub, scope: 'notes:read' })],
        ['garbage', 'not.a.token'],
      ] as const
      for (const [name, t] of bad) {
        const res = await client.get('/notes', t, freshAddress())
        expectProblem(res, 401, 'auth.invalid_token')
        expect(res.header('www-authenticate'), name).toMatch(/^Bearer realm="notes-api"/)
        expect(res.header('www-authenticate'), name).toMatch(/error="invalid_token"/)
        client.expectLines(res, ['auth.failure', 'request.completed'], 'auth.invalid_token')
        print(`a token ${name}`, res)
      }
    })

    it('accepts a token expired within the 30 s tolerance, an audience array and scp scopes', async () => {
      const now = Math.floor(Date.now() / 1000)
      const cases = [
        ['expired 5 s ago', await token({ sub: user(), scope: 'notes:read', iat: now - 60, exp: now - 5 })],
        [
          'an audience array',
          await token({ sub: user(), scope: 'notes:read', aud: ['other-api', 'notes-api'] }),
        ],
        ['scp scopes', await token({ sub: user(), scp: ['notes:read'] })],
      ] as const
      for (const [name, t] of cases) {
        const res = await client.get('/notes', t)
        expect(res.status, `a token ${name}: ${res.text}`).toBe(200)
      }
    })

    it('answers a missing scope 403 with error="insufficient_scope" naming the scope needed', async () => {
      const res = await client.json('POST', '/notes', await reader(), { title: 't', body: '' })
      expectProblem(res, 403)
      expect(res.header('www-authenticate')).toMatch(/^Bearer /)
      expect(res.header('www-authenticate')).toMatch(/error="insufficient_scope"/)
      expect(res.header('www-authenticate')).toMatch(/scope="notes:write"/)
      client.expectLines(res, ['authz.denied', 'request.completed'])
      const none = await client.get('/notes', await token({ sub: user() }))
      expectProblem(none, 403)
      expect(none.header('www-authenticate')).toMatch(/scope="notes:read"/)
    })
  })

  describe('bodies', () => {
    const post = async (body: string, contentType = 'application/json') =>
      client.call({
        method: 'POST',
        path: '/notes',
        headers: { Authorization: `Bearer ${await writer()}`, 'Content-Type': contentType },
        body,
      })

    it.each([
      'text/plain',
      'application/merge-patch+json',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
    ])('refuses the media type %s with 415', async (type) => {
      const res = await post(JSON.stringify({ title: 't', body: '' }), type)
      expectProblem(res, 415)
      print(`POST /notes as ${type}`, res)
    })

    it('refuses an empty JSON body, malformed JSON and a body over 64 KiB', async () => {
      const empty = await post('')
      expectProblem(empty, 400)
      print('an empty JSON body', empty)
      const malformed = await post('{"title":')
      expectProblem(malformed, 400)
      expect(malformed.text).not.toMatch(/Unexpected|SyntaxError|position \d/)
      print('malformed JSON', malformed)
      const big = await post(JSON.stringify({ title: 't', body: 'x'.repeat(70 * 1024) }))
      expectProblem(big, 413)
      print('a body over 64 KiB', big)
    })

    it('refuses __proto__, constructor.prototype and nesting deeper than 32', async () => {
      const proto = await post('{"title":"t","body":"","__proto__":{"isAdmin":true}}')
      expectProblem(proto, 400)
      print('a __proto__ key', proto)
      const ctor = await post('{"title":"t","body":"","constructor":{"prototype":{"isAdmin":true}}}')
      expectProblem(ctor, 400)
      print('a constructor.prototype key', ctor)
      const deep = await post(`{"title":"t","body":"","tags":${'['.repeat(40)}${']'.repeat(40)}}`)
      expectProblem(deep, 400)
      print('nesting deeper than 32', deep)
      const after = await client.get('/notes?limit=1', await reader())
      expect(after.status).toBe(200)
    })
  })

  describe('cross-cutting headers', () => {
    it('echoes a well-formed X-Request-Id and replaces a malformed one with an unpredictable ID', async () => {
      const echoed = await client.call({ path: '/health', headers: { 'X-Request-Id': 'abc.DEF_123-x' } })
      expect(echoed.header('x-request-id')).toBe('abc.DEF_123-x')
      const ids = new Set<string>()
      for (const bad of ['has space', 'a'.repeat(129), 'semi;colon', '']) {
        const res = await send(app.port, { path: '/health', headers: { 'X-Request-Id': bad } })
        expect(res.header('x-request-id')).not.toBe(bad)
        expect(res.header('x-request-id')).toMatch(/^[A-Za-z0-9._-]{16,128}$/)
        ids.add(res.header('x-request-id')!)
      }
      expect(ids.size).toBe(4)
    })

    it('puts the security headers on errors too, and no X-Powered-By', async () => {
      const res = await client.get('/nope', undefined, freshAddress())
      expect(res.status).toBe(404)
      expect(directives(res.header('content-security-policy'))).toEqual([
        "default-src 'none'",
        "frame-ancestors 'none'",
      ])
    })
  })

  describe('CORS', () => {
    it('allows https://app.example.test on a simple request, with Vary: Origin', async () => {
      const res = await client.call({ path: '/health', headers: { Origin: APP_ORIGIN } })
      expect(res.header('access-control-allow-origin')).toBe(APP_ORIGIN)
      expect(res.header('vary')).toMatch(/origin/i)
    })

    it('answers its preflight with 204, never authenticated, never counted', async () => {
      const from = freshAddress()
      for (let i = 0; i < POINTS + 3; i++) {
        const res = await client.call({
          method: 'OPTIONS',
          path: '/notes',
          from,
          headers: {
            Origin: APP_ORIGIN,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization, content-type',
          },
        })
        expect(res.status).toBe(204)
        expect(res.header('access-control-allow-origin')).toBe(APP_ORIGIN)
        expect(res.header('access-control-allow-methods')).toMatch(/POST/)
        expect(res.header('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/)
        expect(res.header('vary')).toMatch(/origin/i)
        expect(res.header('ratelimit')).toBeUndefined()
        expect(res.header('www-authenticate')).toBeUndefined()
      }
      expectProblem(await client.get('/notes', undefined, from), 401)
    })

    it.each([
      'https://evil.example.test',
      'null',
      'http://app.example.test',
      'https://app.example.test.evil.test',
    ])('gives the origin %s no CORS headers, on requests and preflights', async (origin) => {
      const simple = await client.call({ path: '/health', headers: { Origin: origin } })
      expect(simple.status).toBe(200)
      expect(simple.header('access-control-allow-origin')).toBeUndefined()
      expect(simple.header('access-control-allow-credentials')).toBeUndefined()
      const preflight = await client.call({
        method: 'OPTIONS',
        path: '/notes',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'DELETE' },
      })
      expect(preflight.status).toBe(204)
      expect(preflight.header('access-control-allow-origin')).toBeUndefined()
      expect(preflight.header('access-control-allow-methods')).toBeUndefined()
    })
  })

  describe('versions', () => {
    it('answers version 2 by default and on request, without deprecation headers', async () => {
      const t = await reader()
      for (const headers of [{}, { 'Api-Version': '2' }] as Record<string, string>[]) {
        const res = await client.get('/notes', t, undefined, headers)
        expect(res.status).toBe(200)
        expect(res.header('deprecation')).toBeUndefined()
        expect(res.header('sunset')).toBeUndefined()
      }
    })

    it('answers version 1 with Deprecation, Sunset and a Link to the migration doc', async () => {
      const res = await client.get('/notes', await reader(), undefined, { 'Api-Version': '1' })
      expect(res.status).toBe(200)
      expect(res.header('deprecation')).toBeDefined()
      expect(Number.isNaN(Date.parse(res.header('sunset')!))).toBe(false)
      expect(res.header('link')).toMatch(
        /<[^>]+>;\s*rel="?(deprecation|sunset|successor-version|alternate)"?/,
      )
    })

    it.each(['3', '0', 'abc', '1.0', ' 2x'])('refuses Api-Version %s with 400', async (version) => {
      const res = await client.get('/notes', await reader(), undefined, { 'Api-Version': version })
      expectProblem(res, 400)
      print(`Api-Version ${version}`, res)
    })
  })

  describe('rate limits', () => {
    it('names the per-principal policy on an authenticated answer and the per-IP one otherwise', async () => {
      const from = freshAddress()
      const authed = await client.get('/notes', await reader(), from)
      expect(authed.header('ratelimit-policy')).toBe(`"client";q=${POINTS};w=${DURATION}`)
      expect(authed.header('ratelimit')).toMatch(new RegExp(`^"client";r=${POINTS - 1};t=\\d+$`))
      const anonymous = await client.get('/notes', undefined, from)
      expect(anonymous.header('ratelimit-policy')).toBe(`"anonymous";q=${POINTS};w=${DURATION}`)
      expect(anonymous.header('ratelimit')).toMatch(new RegExp(`^"anonymous";r=${POINTS - 1};t=\\d+$`))
    })

    it('gives a principal POINTS requests per window, then 429 with Retry-After', async () => {
      const t = await reader()
      for (let i = 0; i < POINTS; i++)
        expect((await client.get('/notes', t, freshAddress())).status).toBe(200)
      const over = await client.get('/notes', t, freshAddress())
      expectProblem(over, 429, 'ratelimit.exceeded')
      expect(Number(over.header('retry-after'))).toBeGreaterThan(0)
      expect(over.header('ratelimit')).toMatch(/^"client";r=0;/)
      client.expectLines(over, ['ratelimit.exceeded', 'request.completed'])
      expect((await client.get('/notes', await reader(), freshAddress())).status).toBe(200)
    })

    it('refunds the per-IP point of a request that authenticates', async () => {
      const from = freshAddress()
      for (let i = 0; i < POINTS + 3; i++)
        expect((await client.get('/notes', await reader(), from)).status).toBe(200)
    })

    it('meets a flood of bad tokens with the per-IP budget, which then stops valid tokens too', async () => {
      const from = freshAddress()
      for (let i = 0; i < POINTS; i++)
        expect((await client.get('/notes', 'bad.token.value', from)).status).toBe(401)
      const flood = await client.get('/notes', 'bad.token.value', from)
      expectProblem(flood, 429, 'ratelimit.exceeded')
      expect(flood.header('ratelimit-policy')).toMatch(/^"anonymous"/)
      print('a bad token past the per-IP budget', flood)
      const valid = await client.get('/notes', await reader(), from)
      expectProblem(valid, 429, 'ratelimit.exceeded')
      expect(Number(valid.header('retry-after'))).toBeGreaterThan(0)
    })
  })

  describe('client address', () => {
    it('ignores X-Forwarded-For with TRUST_PROXY 0: a spoofed address does not buy a new per-IP budget', async () => {
      const from = freshAddress()
      for (let i = 0; i < POINTS; i++) {
        const res = await client.get('/notes', 'bad.token', from, { 'X-Forwarded-For': `203.0.113.${i + 1}` })
        expect(res.status).toBe(401)
        client.expectLines(res, ['auth.failure'])
      }
      const over = await client.get('/notes', 'bad.token', from, { 'X-Forwarded-For': '198.51.100.7' })
      expectProblem(over, 429, 'ratelimit.exceeded')
      spoofed.push({ id: over.header('x-request-id')!, ip: from })
    })
  })

  describe('precedence', () => {
    it('answers malformed percent-encoding before anything else with request.invalid_path', async () => {
      for (const path of ['/notes/%zz', '/nope/%E0%A4%A', '/notes%2', '/%']) {
        const res = await send(app.port, {
          path,
          headers: {
            Authorization: 'Bearer bad.token.value',
            'Api-Version': '9',
            'X-Request-Id': requestId(),
          },
        })
        print(`GET ${path}`, res)
        expectSecureHeaders(res, `GET ${path}`)
        expectProblem(res, 400, 'request.invalid_path')
        expect(res.header('ratelimit')).toBeUndefined()
      }
    })

    it('answers too large headers with 431 and a malformed request line with 400', async () => {
      const big = await send(app.port, { path: '/notes', headers: { 'X-Filler': 'x'.repeat(20_000) } })
      expect(big.status).toBe(431)
      print('headers too large', big)
      const raw = await sendRaw(app.port, 'GET /health HTTP/1.1 extra\r\nHost: x\r\n\r\n')
      expect(raw.status).toBe(400)
      print('a malformed request line', raw)
    })

    it('answers a CORS preflight before the per-IP budget, routing and authentication', async () => {
      const from = freshAddress()
      for (let i = 0; i < POINTS + 1; i++) await client.get('/notes', 'bad.token.value', from)
      const res = await client.call({
        method: 'OPTIONS',
        path: '/no-such-route',
        from,
        headers: { Origin: APP_ORIGIN, 'Access-Control-Request-Method': 'GET', Authorization: 'Bearer bad' },
      })
      expect(res.status).toBe(204)
      print('a preflight on an unknown path from an exhausted IP', res)
    })

    it('answers the per-IP budget before routing, and counts unknown routes even with a valid token', async () => {
      const from = freshAddress()
      const t = await reader()
      for (let i = 0; i < POINTS; i++) {
        const res = await client.get('/nope', t, from)
        expect(res.status).toBe(404)
        expect(res.header('ratelimit-policy')).toMatch(/^"anonymous"/)
      }
      const over = await client.get('/nope', t, from)
      expectProblem(over, 429)
      print('an unknown route from an exhausted IP', over)
    })

    it('routes before the version check and the version check before authentication', async () => {
      const unknown = await client.get('/nope', 'bad.token.value', freshAddress(), { 'Api-Version': '9' })
      expectProblem(unknown, 404)
      print('an unknown route with a bad version and a bad token', unknown)
      const put = await client.call({
        method: 'PUT',
        path: '/notes',
        headers: { Authorization: 'Bearer bad.token.value' },
      })
      expectProblem(put, 405)
      print('a wrong method with a bad token', put)
      const version = await client.get('/notes', 'bad.token.value', freshAddress(), { 'Api-Version': '9' })
      expectProblem(version, 400)
      print('a bad version with a bad token', version)
    })

    it('authenticates before the principal budget, scopes, parameters and the body', async () => {
      const res = await client.call({
        method: 'PATCH',
        path: '/notes/BAD!',
        headers: { Authorization: 'Bearer bad.token.value', 'Content-Type': 'text/plain' },
        body: '{',
      })
      expectProblem(res, 401, 'auth.invalid_token')
      print('a bad token with a bad id and a bad body', res)
      const unusable: Record<string, string> = {}
      for (const [name, body] of [
        ['an empty', ''],
        ['a malformed', '{'],
        ['a 70 KiB', 'x'.repeat(70 * 1024)],
      ] as const) {
        const anonymous = await send(app.port, {
          method: 'POST',
          path: '/notes',
          headers: { 'Content-Type': 'application/json', 'X-Request-Id': requestId() },
          body,
          from: freshAddress(),
        })
        print(`no token with ${name} JSON body`, anonymous)
        unusable[name] = `${anonymous.status} ${anonymous.json?.code}`
      }
      expect(unusable).toEqual({
        'an empty': '401 auth.missing_token',
        'a malformed': '401 auth.missing_token',
        'a 70 KiB': '401 auth.missing_token',
      })
    })

    it('answers the principal budget before the scope check', async () => {
      const sub = user()
      const t = await token({ sub, scope: 'notes:read' })
      for (let i = 0; i < POINTS; i++) await client.get('/notes', t, freshAddress())
      const res = await client.json('POST', '/notes', t, { title: 't', body: '' }, freshAddress())
      expectProblem(res, 429, 'ratelimit.exceeded')
      print('an exhausted principal without the scope', res)
    })

    it('checks scopes before parameters, and parameters before the body', async () => {
      const scope = await client.call({
        method: 'PATCH',
        path: '/notes/BAD!',
        headers: { Authorization: `Bearer ${await reader()}`, 'Content-Type': 'text/plain' },
        body: '{',
      })
      expectProblem(scope, 403)
      print('a missing scope with a bad id and a bad body', scope)
      const params = await client.call({
        method: 'PATCH',
        path: '/notes/BAD!',
        headers: { Authorization: `Bearer ${await writer()}`, 'Content-Type': 'text/plain' },
        body: '{',
      })
      expectInvalid(params, 'params')
      print('a bad id with a bad body', params)
    })

    it('checks the body before ownership', async () => {
      const res = await client.json('PATCH', '/notes/note-bob-1', await writer('alice'), { title: '' })
      expectInvalid(res, 'body', '/title')
      print("a bad body on another user's note", res)
      const big = await client.call({
        method: 'PATCH',
        path: '/notes/note-bob-1',
        headers: { Authorization: `Bearer ${await writer('alice')}`, 'Content-Type': 'text/plain' },
        body: 'x',
      })
      expectProblem(big, 415)
    })

    it('reads the login body before the brute-force block', async () => {
      const from = freshAddress()
      for (let i = 0; i < 5; i++)
        await client.json(
          'POST',
          '/login',
          undefined,
          { username: 'bob', password: 'wrong-password-1' },
          from,
        )
      const malformed = await client.json('POST', '/login', undefined, '{"username":', from)
      expectProblem(malformed, 400)
      print('a malformed login body for a blocked username', malformed)
      const blocked = await client.json(
        'POST',
        '/login',
        undefined,
        { username: 'bob', password: 'bob-password-1' },
        from,
      )
      expectProblem(blocked, 429)
      print('a blocked login', blocked)
    })
  })

  describe('shutdown and the audit log', () => {
    const burst: Array<{ id: string; res?: Answer; error?: unknown }> = []
    let exitCode: number | null = null

    const cached: string[] = []
    it('verifies a token once and serves it from the cache afterwards', async () => {
      const t = await reader()
      for (let i = 0; i < 3; i++) {
        const res = await client.get('/notes/note-alice-1', t)
        expectProblem(res, 404)
        cached.push(res.header('x-request-id')!)
      }
    })

    it('on SIGTERM during a burst, finishes what it accepted and exits 0', async () => {
      const t = await admin()
      // Logins hash a password: they are still in flight when the signal arrives.
      const calls = Array.from(
        { length: 12 },
        (_, i): Call =>
          i % 3 === 0
            ? {
                method: 'POST',
                path: '/login',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }),
              }
            : { path: '/notes/note-alice-1', headers: { Authorization: `Bearer ${t}` } },
      )
      const pending = calls.map(async (call, i) => {
        const id = requestId()
        const entry: (typeof burst)[number] = { id }
        burst.push(entry)
        await new Promise((r) => setTimeout(r, i * 2))
        try {
          entry.res = await send(app.port, {
            ...call,
            headers: { ...call.headers, 'X-Request-Id': id },
            from: freshAddress(),
          })
        } catch (error) {
          entry.error = error
        }
      })
      await new Promise((r) => setTimeout(r, 8))
      app.signal('SIGTERM')
      await Promise.all(pending)
      exitCode = await app.exited
      expect(exitCode).toBe(0)
      const answered = burst.filter((b) => b.res)
      expect(answered.length).toBeGreaterThan(0)
      for (const b of answered) expect([200, 429]).toContain(b.res!.status)
      for (const b of burst.filter((b) => b.error))
        expect(String(b.error)).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/)
    })

    it('has a request.completed line for every answered request, with the contract fields', () => {
      const lines = auditLines(app.auditFile)
      const answered: Recorded[] = [
        ...client.recorded,
        ...burst.filter((b) => b.res).map((b) => ({ requestId: b.id, status: b.res!.status, events: [] })),
      ]
      expect(answered.length).toBeGreaterThan(100)
      for (const r of answered) {
        const own = linesOf(lines, r.requestId)
        const completed = own.filter((l) => l.event === 'request.completed')
        expect(completed, `request.completed of ${r.requestId}`).toHaveLength(1)
        expect(completed[0]).toMatchObject({
          status: r.status,
          ip: expect.any(String),
          method: expect.any(String),
        })
        for (const event of r.events)
          expect(
            own.map((l) => l.event),
            `${event} of ${r.requestId}`,
          ).toContain(event)
        if (r.reason)
          expect(
            own.some((l) => l.reason === r.reason),
            `${r.reason} of ${r.requestId}`,
          ).toBe(true)
      }
      for (const line of lines.filter((l) => l.event === 'request.completed')) {
        expect(line).toMatchObject({
          time: expect.any(String),
          outcome: expect.stringMatching(/^(success|failure|unknown)$/),
        })
        expect(line.route).toEqual(expect.any(String))
      }
    })

    it('writes the socket address as ip when no proxy is trusted', () => {
      const lines = auditLines(app.auditFile)
      expect(spoofed).toHaveLength(1)
      for (const { id, ip } of spoofed) {
        const own = linesOf(lines, id)
        expect(own.length).toBeGreaterThan(0)
        for (const line of own) expect(line.ip).toBe(ip)
      }
    })

    it('writes the route pattern, the principal and one auth.success per verified token', () => {
      const lines = auditLines(app.auditFile)
      const reads = lines.filter((l) => l.event === 'request.completed' && l.path === '/notes/note-alice-1')
      expect(reads.length).toBeGreaterThan(0)
      for (const line of reads) expect(line.route).toBe('/notes/:id')
      const successes = lines.filter((l) => l.event === 'auth.success' && cached.includes(l.requestId!))
      expect(successes.map((l) => l.requestId)).toEqual([cached[0]])
      expect(
        lines.filter((l) => l.event === 'request.completed' && cached.includes(l.requestId!)),
      ).toHaveLength(3)
      for (const line of lines.filter((l) => l.event === 'auth.success'))
        expect(line.principal).toEqual(expect.any(String))
    })

    const lines = () =>
      auditLines(app.auditFile)
        .map((l) => JSON.stringify(l))
        .join('\n')

    it('never writes a token, an API key or a password', () => {
      const text = lines()
      for (const secret of secrets) expect(text.includes(secret), 'a secret in the audit log').toBe(false)
      expect(text).not.toMatch(/Bearer |eyJ[A-Za-z0-9_-]{10,}\.eyJ/)
      expect(auditLines(app.auditFile).filter((l) => l.principal === 'forged-principal')).toEqual([])
    })

    it('passes apiward-audit verify, which names the first altered line of a tampered copy', () => {
      const cli = join(ROOT, 'packages/audit-log/dist/cli.js')
      const clean = spawnSync(process.execPath, [cli, 'verify', app.auditFile], { encoding: 'utf8' })
      expect(clean.status, clean.stdout + clean.stderr).toBe(0)
      const rows = readFileSync(app.auditFile, 'utf8').split('\n')
      const at = rows.findIndex((row, i) => i > 2 && row.includes('"status":200'))
      expect(at).toBeGreaterThan(2)
      rows[at] = rows[at]!.replace('"status":200', '"status":403')
      const tampered = `${app.auditFile}.tampered`
      writeFileSync(tampered, rows.join('\n'))
      const broken = spawnSync(process.execPath, [cli, 'verify', tampered], { encoding: 'utf8' })
      expect(broken.status).toBe(1)
      expect(broken.stdout + broken.stderr).toMatch(new RegExp(`\\b${at + 1}\\b`))
      expect(broken.stdout + broken.stderr).toMatch(/altered/)
    })

    it('keeps a hash chain that verifies, closed by the shutdown', () => {
      expect(exitCode).toBe(0)
      const result = verifyAudit(app.auditFile)
      expect(result.problem).toBeUndefined()
      expect(result.ok).toBe(true)
      expect(result.lines).toBe(auditLines(app.auditFile).length)
    })
  })
})

describe('every example', () => {
  it('gives the same answers to the same hostile requests', () => {
    expect(fingerprints.size).toBeGreaterThan(30)
    const differences: string[] = []
    for (const [name, byFramework] of fingerprints) {
      if (byFramework.size !== FRAMEWORKS.length)
        differences.push(`${name}: answered by ${[...byFramework.keys()].join(', ')} only`)
      const answers = new Set(byFramework.values())
      if (answers.size > 1)
        differences.push(`${name}: ${[...byFramework].map(([f, a]) => `${f} ${a}`).join(', ')}`)
    }
    expect(differences).toEqual([])
  })
})

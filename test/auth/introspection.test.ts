import { randomUUID, type webcrypto } from 'node:crypto'
import {
  anyOf,
  apiKey,
  type ClientAuthentication,
  generateApiKey,
  type IntrospectionOptions,
  introspection,
  jwt,
} from '@apiward/auth'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { exportJWK, generateKeyPair } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Answer, send, sleep } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { API_AUDIENCE, type AuthorizationServer, startAuthorizationServer } from './as-support.js'
import { type SigningKey, sign, signingKey } from './jwt-support.js'

const SECRET = 'intro-spection secret:+/%'
let as: AuthorizationServer
let privateKey: webcrypto.CryptoKey

beforeAll(async () => {
  as = await startAuthorizationServer()
  const pair = await generateKeyPair('ES256', { extractable: true })
  privateKey = pair.privateKey as webcrypto.CryptoKey
  as.clients.set('notes-api', { id: 'notes-api', secret: SECRET, jwk: await exportJWK(pair.publicKey) })
})
afterAll(async () => {
  await as.close()
})
afterEach(() => {
  as.mode = 'ok'
  as.slowMs = 5000
})

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } })
const introspections = () => as.hits['/introspect'] ?? 0
const basic: ClientAuthentication = { method: 'client_secret_basic', clientSecret: SECRET }

function expectInvalidToken(answer: Answer): void {
  expect(answer.status).toBe(401)
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(answer.json.code).toBe('auth.invalid_token')
  expect(answer.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
}

function expectUnavailable(answer: Answer): void {
  expect(answer.status).toBe(503)
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(answer.json.code).toBe('auth.unavailable')
  expect(answer.headers['retry-after']).toBe('5')
  expect(answer.text).not.toMatch(/127\.0\.0\.1|introspect|stack/i)
}

describe.each(harnesses)('introspection() through $name', (harness) => {
  let server: RunningServer
  const events: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  const key = generateApiKey({ prefix: 'ak_test' })
  const reasons = (since: number, type = 'auth.failure') =>
    events
      .slice(since)
      .filter((e) => e.type === type)
      .map((e) => e.reason)

  const guard = (extra: Partial<IntrospectionOptions> = {}) =>
    introspection({
      issuer: as.root.issuer,
      clientId: 'notes-api',
      clientAuthentication: basic,
      audience: API_AUDIENCE,
      timeoutMs: 400,
      events: bus,
      ...extra,
    })

  let mixedKey: SigningKey

  beforeAll(async () => {
    const opaque = guard({ tokenFormat: 'opaque' })
    const asKey = await signingKey('ES256', 'as-1')
    server = await harness.start({
      events: bus,
      routes: [
        { method: 'GET', path: '/me', guards: [guard()] },
        { method: 'GET', path: '/nocache', guards: [guard({ cache: false })] },
        { method: 'GET', path: '/strict-clock', guards: [guard({ clockTolerance: 0 })] },
        {
          method: 'GET',
          path: '/post',
          guards: [
            guard({
              cache: false,
              clientAuthentication: { method: 'client_secret_post', clientSecret: SECRET },
            }),
          ],
        },
        {
          method: 'GET',
          path: '/private-key-jwt',
          guards: [guard({ cache: false, clientAuthentication: { method: 'private_key_jwt', privateKey } })],
        },
        {
          method: 'GET',
          path: '/private-key-jwt-endpoint',
          guards: [
            guard({
              cache: false,
              clientAuthentication: { method: 'private_key_jwt', privateKey, audience: 'endpoint' },
            }),
          ],
        },
        {
          method: 'GET',
          path: '/wrong-secret',
          guards: [
            guard({
              cache: false,
              clientAuthentication: { method: 'client_secret_basic', clientSecret: 'nope' },
            }),
          ],
        },
        { method: 'GET', path: '/signed', guards: [guard({ cache: false, jwtResponse: true })] },
        {
          method: 'GET',
          path: '/tenant',
          guards: [guard({ cache: false, issuer: as.tenant.issuer, jwtResponse: true })],
        },
        {
          method: 'GET',
          path: '/stale',
          guards: [guard({ onEndpointFailure: 'serve-stale', cache: { ttl: 0.2, staleTtl: 60 } })],
        },
        {
          method: 'GET',
          path: '/any',
          guards: [
            anyOf(
              guard(),
              apiKey({ prefix: 'ak_test', keys: [{ id: key.id, hash: key.hash, owner: 'billing' }] }),
            ),
          ],
        },
        {
          method: 'GET',
          path: '/mixed',
          guards: [
            anyOf(
              opaque,
              jwt({ jwks: { keys: [asKey.publicJwk] }, issuer: as.root.issuer, audience: API_AUDIENCE }),
            ),
          ],
        },
        { method: 'GET', path: '/opaque-only', guards: [opaque] },
        { method: 'GET', path: '/optional', guards: [guard({ required: false })] },
      ],
    })
    mixedKey = asKey
  })
  afterAll(async () => {
    await server?.close()
  })

  it('accepts an active token and builds the principal as from a JWT', async () => {
    const token = as.issue({ roles: ['editor'] })
    const a = await send(`${server.url}/me`, bearer(token))
    expect(a.status).toBe(200)
    expect(a.json.auth).toMatchObject({
      id: 'alice',
      kind: 'user',
      scopes: ['notes:read', 'notes:write'],
      roles: ['editor'],
      credential: 'introspection',
    })
    expect(a.json.auth.claims).toMatchObject({ active: true, client_id: 'notes-app', aud: API_AUDIENCE })
    expect(as.last.form?.get('token')).toBe(token)
    expect(as.last.form?.get('token_type_hint')).toBe('access_token')
    expect(as.last.method).toBe('client_secret_basic')
    expect(events.at(-1)).toMatchObject({ type: 'auth.success', credential: 'introspection' })
  })

  it('reports auth.success once per introspected answer, not on each use of the cached answer', async () => {
    const token = as.issue({})
    const before = events.filter((e) => e.type === 'auth.success').length
    for (let i = 0; i < 3; i++) expect((await send(`${server.url}/me`, bearer(token))).status).toBe(200)
    expect(events.filter((e) => e.type === 'auth.success')).toHaveLength(before + 1)
  })

  it('makes the client the principal of its own token, which names no subject', async () => {
    const a = await send(`${server.url}/me`, bearer(as.issue({ sub: undefined, client_id: 'reporting-job' })))
    expect(a.status).toBe(200)
    expect(a.json.auth).toMatchObject({ id: 'reporting-job', kind: 'service' })
    expect(a.json.auth.claims.sub).toBeUndefined()
  })

  it('refuses an inactive token with 401 invalid_token, whatever else the answer says', async () => {
    const token = randomUUID()
    as.tokens.set(token, {
      active: false,
      sub: 'alice',
      aud: API_AUDIENCE,
      scope: 'admin',
      exp: 9_999_999_999,
    })
    const before = events.length
    expectInvalidToken(await send(`${server.url}/me`, bearer(token)))
    expectInvalidToken(await send(`${server.url}/me`, bearer('never-issued')))
    expect(reasons(before)).toEqual(['inactive', 'inactive'])
  })

  it('refuses an active answer whose claims fail the checks of a JWT', async () => {
    const now = Math.floor(Date.now() / 1000)
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ aud: 'https://other.example' }, 'audience_not_allowed'],
      [{ aud: undefined }, 'missing_claim'],
      [{ iss: 'https://evil.example/' }, 'issuer_not_allowed'],
      [{ exp: now - 60, iat: now - 120 }, 'expired'],
      [{ nbf: now + 60 }, 'not_yet_valid'],
      [{ exp: String(now + 600) }, 'invalid_claim'],
      [{ scope: ['admin'] }, 'invalid_claim'],
      [{ sub: 42 }, 'invalid_claim'],
      [{ sub: undefined, client_id: undefined }, 'missing_claim'],
      [{ iat: now + 3600 }, 'issued_in_future'],
    ]
    const before = events.length
    for (const [claims] of cases) expectInvalidToken(await send(`${server.url}/me`, bearer(as.issue(claims))))
    expect(reasons(before)).toEqual(cases.map(([, reason]) => reason))
  })

  it('asks the endpoint once per token: active and inactive answers are cached under a hash', async () => {
    const active = as.issue()
    const before = introspections()
    for (let i = 0; i < 3; i++) expect((await send(`${server.url}/me`, bearer(active))).status).toBe(200)
    for (let i = 0; i < 3; i++)
      expectInvalidToken(await send(`${server.url}/me`, bearer(`gone-${harness.name}`)))
    expect(introspections() - before).toBe(2)
    for (let i = 0; i < 2; i++) expect((await send(`${server.url}/nocache`, bearer(active))).status).toBe(200)
    expect(introspections() - before).toBe(4)
  })

  it('shares one call among concurrent requests with the same token', async () => {
    const token = as.issue()
    as.mode = 'slow'
    as.slowMs = 150
    const before = introspections()
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => send(`${server.url}/nocache`, bearer(token))),
    )
    for (const a of answers) expect(a.status).toBe(200)
    expect(introspections() - before).toBe(1)
  })

  it('never reuses an answer past the token exp', async () => {
    const exp = Math.floor(Date.now() / 1000) + 1
    const token = as.issue({ exp })
    const before = introspections()
    expect((await send(`${server.url}/strict-clock`, bearer(token))).status).toBe(200)
    await sleep(exp * 1000 - Date.now() + 50)
    const since = events.length
    expectInvalidToken(await send(`${server.url}/strict-clock`, bearer(token)))
    expect(introspections() - before).toBe(2)
    expect(reasons(since)).toEqual(['expired'])
  })

  it.each([
    ['slow', 'timeout'],
    ['down', 'status'],
    ['garbage', 'malformed'],
    ['html', 'malformed'],
    ['not-an-object', 'malformed'],
    ['no-active', 'malformed'],
    ['oversized', 'too_large'],
    ['endless', 'too_large'],
  ] as const)(
    'answers 503 with Retry-After when the endpoint is %s, and caches nothing',
    async (mode, reason) => {
      as.mode = mode
      const token = as.issue()
      const before = events.length
      const started = Date.now()
      expectUnavailable(await send(`${server.url}/me`, bearer(token)))
      expect(Date.now() - started).toBeLessThan(1500)
      const errors = events.slice(before).filter((e) => e.type === 'auth.error')
      expect(errors).toMatchObject([
        { code: 'auth.unavailable', credential: 'introspection', reason, severity: 'error' },
      ])
      expect(events.slice(before).some((e) => e.type === 'auth.failure')).toBe(false)
      as.mode = 'ok'
      expect((await send(`${server.url}/me`, bearer(token))).status).toBe(200)
    },
  )

  it('drops an endless answer at the size cap instead of reading it', async () => {
    as.mode = 'endless'
    as.streamed = 0
    const dropped = as.dropped
    expectUnavailable(await send(`${server.url}/nocache`, bearer(as.issue())))
    await sleep(50)
    expect(as.dropped - dropped).toBe(1)
    expect(as.streamed).toBeLessThan(65_536 + 4 * 16_384)
  })

  it('authenticates with client_secret_post and private_key_jwt (aud the issuer, or the endpoint)', async () => {
    for (const [path, method] of [
      ['/post', 'client_secret_post'],
      ['/private-key-jwt', 'private_key_jwt'],
      ['/private-key-jwt-endpoint', 'private_key_jwt'],
    ]) {
      const a = await send(server.url + path!, bearer(as.issue()))
      expect(a.status, path).toBe(200)
      expect(as.last.method).toBe(method)
    }
    expect(as.last.form?.get('client_secret')).toBeNull()
  })

  it('answers 503 when the server refuses the client, not a 401 that blames the token', async () => {
    const before = events.length
    expectUnavailable(await send(`${server.url}/wrong-secret`, bearer(as.issue())))
    expect(reasons(before, 'auth.error')).toEqual(['client_auth_refused'])
  })

  it('verifies signed answers (RFC 9701) with the keys the metadata names', async () => {
    for (const path of ['/signed', '/tenant']) {
      const issuer = path === '/tenant' ? as.tenant : as.root
      const a = await send(server.url + path, bearer(as.issue({ iss: issuer.issuer }, issuer)))
      expect(a.status, path).toBe(200)
      expect(as.last.accept).toBe('application/token-introspection+jwt')
    }
    expectInvalidToken(await send(`${server.url}/signed`, bearer('never-issued')))
  })

  it('answers 503 to a forged signed answer and to a JSON answer where a signed one was asked', async () => {
    const before = events.length
    for (const mode of ['forged-jwt', 'json-when-jwt-asked'] as const) {
      as.mode = mode
      expectUnavailable(await send(`${server.url}/signed`, bearer(as.issue())))
    }
    expect(reasons(before, 'auth.error')).toEqual(['bad_response_signature', 'malformed'])
  })

  it("serves a known token's cached answer while the endpoint is down with serve-stale, and 503 to others", async () => {
    const known = as.issue()
    expect((await send(`${server.url}/stale`, bearer(known))).status).toBe(200)
    await sleep(250)
    as.mode = 'down'
    const before = events.length
    expect((await send(`${server.url}/stale`, bearer(known))).status).toBe(200)
    expect(events.slice(before).find((e) => e.type === 'auth.error')).toMatchObject({
      code: 'auth.introspection_stale',
      severity: 'warn',
    })
    expectUnavailable(await send(`${server.url}/stale`, bearer(as.issue())))
  })

  it('composes with anyOf(): a key goes to apiKey(), a bearer token to introspection()', async () => {
    const byKey = await send(`${server.url}/any`, { headers: { 'X-API-Key': key.key } })
    expect(byKey.status).toBe(200)
    expect(byKey.json.auth).toMatchObject({ id: 'billing', credential: 'api_key' })
    expect((await send(`${server.url}/any`, bearer(as.issue()))).json.auth.credential).toBe('introspection')
    expectInvalidToken(await send(`${server.url}/any`, bearer('never-issued')))
    const none = await send(`${server.url}/any`)
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toBe('Bearer realm="api", ApiKey header="X-API-Key"')
  })

  it("leaves JWTs to jwt() with tokenFormat 'opaque', without calling the endpoint for them", async () => {
    const before = introspections()
    const signed = await sign(mixedKey, { iss: as.root.issuer, aud: API_AUDIENCE })
    const a = await send(`${server.url}/mixed`, bearer(signed))
    expect(a.status).toBe(200)
    expect(a.json.auth.credential).toBe('jwt')
    expect((await send(`${server.url}/mixed`, bearer(as.issue()))).json.auth.credential).toBe('introspection')
    expectInvalidToken(await send(`${server.url}/opaque-only`, bearer(signed)))
    expect(introspections() - before).toBe(1)
  })

  it('answers every malformed or oversized credential with a 4xx and no call', async () => {
    const before = introspections()
    for (const value of ['Bearer', 'Bearer a b', 'Bearer tok"en', `Bearer ${'x'.repeat(9000)}`]) {
      const a = await send(`${server.url}/me`, { headers: { Authorization: value } })
      expect(a.status, value.slice(0, 20)).toBeGreaterThanOrEqual(400)
      expect(a.status).toBeLessThan(500)
    }
    const twice = await send(`${server.url}/me`, {
      headers: [
        ['Authorization', 'Bearer a'],
        ['Authorization', 'Bearer b'],
      ],
    })
    expect(twice.status).toBe(400)
    const missing = await send(`${server.url}/me`)
    expect(missing.status).toBe(401)
    expect(missing.json.code).toBe('auth.missing_token')
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"')
    expect(introspections() - before).toBe(0)
  })

  it('lets anonymous requests through when optional, but never an inactive token', async () => {
    const anonymous = await send(`${server.url}/optional`)
    expect(anonymous.status).toBe(200)
    expect(anonymous.json.auth).toBeNull()
    expectInvalidToken(await send(`${server.url}/optional`, bearer('never-issued')))
  })
})

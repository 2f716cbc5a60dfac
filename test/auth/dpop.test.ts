import { dpop, introspection, jwt, memoryDpopReplayStore } from '@apiward/auth'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RouteSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { API_AUDIENCE, type AuthorizationServer, startAuthorizationServer } from './as-support.js'
import { type DpopClient, dpopClient } from './dpop-support.js'

const ISSUER = 'https://id.example.test/'
const AUDIENCE = 'https://api.example.test'
const ORIGIN = 'https://api.example.test'
const SECRET = 'nonce-secret-0123456789-abcdefghijklmnop'
const NEWER_SECRET = 'nonce-secret-newer-0123456789-abcdefghijk'

let client: DpopClient
let other: DpopClient
let signingKey: CryptoKey
let publicKey: JWK
let as: AuthorizationServer

beforeAll(async () => {
  client = await dpopClient()
  other = await dpopClient()
  const pair = await generateKeyPair('ES256')
  signingKey = pair.privateKey
  publicKey = await exportJWK(pair.publicKey)
  as = await startAuthorizationServer()
  as.clients.set('notes-api', { id: 'notes-api', secret: 'a' })
})
afterAll(() => as.close())

const token = (claims: JWTPayload = {}) =>
  new SignJWT({ sub: 'user-1', ...claims })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signingKey)

const boundToken = (jkt = client.jkt) => token({ cnf: { jkt } })

function routes(): RouteSpec[] {
  const keys = { publicKey, issuer: ISSUER, audience: AUDIENCE }
  return [
    { method: 'GET', path: '/notes', guards: [jwt({ ...keys, dpop: dpop({ origin: ORIGIN }) })] },
    { method: 'POST', path: '/notes', guards: [jwt({ ...keys, dpop: dpop({ origin: ORIGIN }) })] },
    {
      method: 'GET',
      path: '/nonce',
      guards: [jwt({ ...keys, dpop: dpop({ origin: ORIGIN, nonceSecret: SECRET }) })],
    },
    {
      method: 'GET',
      path: '/rotated',
      guards: [jwt({ ...keys, dpop: dpop({ origin: ORIGIN, nonceSecret: [NEWER_SECRET, SECRET] }) })],
    },
    {
      method: 'GET',
      path: '/dpop-only',
      guards: [jwt({ ...keys, dpop: dpop({ origin: ORIGIN, required: true }) })],
    },
    { method: 'GET', path: '/plain', guards: [jwt(keys)] },
    {
      method: 'GET',
      path: '/introspected',
      guards: [
        introspection({
          issuer: as.root.issuer,
          clientId: 'notes-api',
          clientAuthentication: { method: 'client_secret_post', clientSecret: 'a' },
          audience: API_AUDIENCE,
          dpop: dpop({ origin: ORIGIN, replay: memoryDpopReplayStore() }),
        }),
      ],
    },
  ]
}

const dpopHeaders = (t: string, proof: string, extra: Record<string, string> = {}) => ({
  headers: { Authorization: `DPoP ${t}`, DPoP: proof, ...extra },
})

describe.each(harnesses)('DPoP proofs on $name', (harness) => {
  let server: RunningServer
  const events: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  const reasons = () => events.map((e) => (e as { reason?: string }).reason)

  beforeAll(async () => {
    server = await harness.start({ routes: routes(), events: bus })
  })
  afterAll(() => server.close())

  const call = (path: string, t: string, proof: string, extra?: Record<string, string>) =>
    send(server.url + path, dpopHeaders(t, proof, extra))
  const proofFor = (t: string, path = '/notes', o: Partial<Parameters<DpopClient['proof']>[0]> = {}) =>
    client.proof({ htm: 'GET', htu: ORIGIN + path, token: t, ...o })

  it('accepts a DPoP-bound token with a valid proof', async () => {
    const t = await boundToken()
    const res = await call('/notes', t, await proofFor(t))
    expect(res.status).toBe(200)
    expect(res.json.auth.id).toBe('user-1')
  })

  it('refuses a proof used a second time', async () => {
    const t = await boundToken()
    const proof = await proofFor(t)
    expect((await call('/notes', t, proof)).status).toBe(200)
    const replay = await call('/notes', t, proof)
    expect(replay.status).toBe(401)
    expect(replay.json.code).toBe('auth.invalid_dpop_proof')
    expect(replay.headers['www-authenticate']).toMatch(
      /^DPoP algs="[^"]*ES256[^"]*", error="invalid_dpop_proof"$/,
    )
    expect(reasons()).toContain('replayed')
  })

  it('asks a new proof on every request, also for a token in the verified-token cache', async () => {
    const t = await boundToken()
    expect((await call('/notes', t, await proofFor(t))).status).toBe(200)
    expect((await call('/notes', t, await proofFor(t))).status).toBe(200)
    expect((await send(`${server.url}/notes`, { headers: { Authorization: `DPoP ${t}` } })).status).toBe(401)
  })

  it('refuses a proof for another method', async () => {
    const t = await boundToken()
    const res = await call('/notes', t, await proofFor(t, '/notes', { htm: 'POST' }))
    expect(res.status).toBe(401)
    expect(reasons()).toContain('method_mismatch')
  })

  it('refuses a proof for another URI', async () => {
    const t = await boundToken()
    expect((await call('/notes', t, await proofFor(t, '/other'))).status).toBe(401)
    const res = await call('/notes', t, await proofFor(t, '/notes', { htu: 'https://evil.example/notes' }))
    expect(res.status).toBe(401)
    expect(reasons()).toContain('uri_mismatch')
  })

  it('compares htu with the configured origin, never the Host header', async () => {
    const t = await boundToken()
    const spoofed = await call(
      '/notes',
      t,
      await proofFor(t, '/notes', { htu: 'http://evil.example/notes' }),
      {
        Host: 'evil.example',
      },
    )
    expect(spoofed.status).toBe(401)
    const honest = await call('/notes', t, await proofFor(t), { Host: 'evil.example' })
    expect(honest.status).toBe(200)
  })

  it('ignores the authority of an absolute-form target', async () => {
    const t = await boundToken()
    const proof = await proofFor(t, '/notes', { htu: 'http://evil.example/notes' })
    const res = await send(`${server.url}/notes`, {
      ...dpopHeaders(t, proof),
      target: 'http://evil.example/notes',
    })
    expect(res.status).toBe(401)
    const good = await send(`${server.url}/notes`, {
      ...dpopHeaders(t, await proofFor(t)),
      target: 'http://evil.example/notes',
    })
    expect(good.status).toBe(200)
  })

  it('normalises htu before comparing it (case, default port, dot segments, percent-encoding, query)', async () => {
    const t = await boundToken()
    const htu = 'HTTPS://API.Example.TEST:443/a/../notes?page=2#top'
    expect((await call('/notes', t, await proofFor(t, '/notes', { htu }))).status).toBe(200)
    const encoded = `${ORIGIN}/%6Eotes`
    expect((await call('/notes', t, await proofFor(t, '/notes', { htu: encoded }))).status).toBe(200)
    const other = `${ORIGIN}/notes%2F`
    expect((await call('/notes', t, await proofFor(t, '/notes', { htu: other }))).status).toBe(401)
  })

  it('refuses a stale proof and a proof from the future', async () => {
    const t = await boundToken()
    const now = Math.floor(Date.now() / 1000)
    expect((await call('/notes', t, await proofFor(t, '/notes', { iat: now - 120 }))).status).toBe(401)
    expect((await call('/notes', t, await proofFor(t, '/notes', { iat: now + 60 }))).status).toBe(401)
    expect(reasons()).toEqual(expect.arrayContaining(['stale_proof', 'proof_from_future']))
  })

  it('refuses a proof whose ath is not the hash of the token', async () => {
    const t = await boundToken()
    const res = await call('/notes', t, await proofFor(t, '/notes', { ath: 'A'.repeat(43) }))
    expect(res.status).toBe(401)
    expect((await call('/notes', t, await proofFor(t, '/notes', { omit: ['ath'] }))).status).toBe(401)
    expect(reasons()).toContain('token_hash_mismatch')
  })

  it('refuses a proof signed by a key the token is not bound to', async () => {
    const t = await boundToken(other.jkt)
    const res = await call('/notes', t, await proofFor(t))
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('auth.invalid_dpop_proof')
    expect(reasons()).toContain('key_not_bound')
  })

  it('refuses a proof that carries a private key in its header', async () => {
    const t = await boundToken()
    const res = await call('/notes', t, await proofFor(t, '/notes', { headerJwk: client.privateJwk }))
    expect(res.status).toBe(401)
    expect(reasons()).toContain('private_proof_key')
  })

  it('refuses a proof of another type, and a proof whose header key did not sign it', async () => {
    const t = await boundToken()
    expect((await call('/notes', t, await proofFor(t, '/notes', { typ: 'JWT' }))).status).toBe(401)
    expect((await call('/notes', t, await proofFor(t, '/notes', { headerJwk: other.jwk }))).status).toBe(401)
    expect(reasons()).toEqual(expect.arrayContaining(['wrong_proof_type', 'bad_proof_signature']))
  })

  it('refuses garbage in the DPoP header with a 401 problem, never a 500', async () => {
    const t = await boundToken()
    for (const proof of ['x', 'a.b.c', `${'e30'}.${'e30'}.`, 'é.é.é']) {
      const res = await call('/notes', t, proof)
      expect(res.status).toBe(401)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    }
  })

  it('refuses two DPoP headers', async () => {
    const t = await boundToken()
    const res = await send(`${server.url}/notes`, {
      headers: [
        ['Authorization', `DPoP ${t}`],
        ['DPoP', await proofFor(t)],
        ['DPoP', await proofFor(t)],
      ],
    })
    expect(res.status).toBe(401)
  })

  it('refuses Authorization: DPoP without a proof', async () => {
    const t = await boundToken()
    const res = await send(`${server.url}/notes`, { headers: { Authorization: `DPoP ${t}` } })
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('auth.invalid_dpop_proof')
  })

  it('refuses a DPoP-bound token sent as Bearer, with or without a DPoP route', async () => {
    const t = await boundToken()
    for (const path of ['/notes', '/plain']) {
      const res = await send(server.url + path, { headers: { Authorization: `Bearer ${t}` } })
      expect(res.status).toBe(401)
      expect(res.json.code).toBe('auth.invalid_token')
    }
    expect(reasons()).toContain('bound_token_as_bearer')
  })

  it('refuses an unbound token sent with the DPoP scheme', async () => {
    const t = await token()
    const res = await call('/notes', t, await proofFor(t))
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toContain('DPoP algs=')
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"')
  })

  it('accepts plain bearer tokens unless DPoP is required', async () => {
    const t = await token()
    expect((await send(`${server.url}/notes`, { headers: { Authorization: `Bearer ${t}` } })).status).toBe(
      200,
    )
    expect(
      (await send(`${server.url}/dpop-only`, { headers: { Authorization: `Bearer ${t}` } })).status,
    ).toBe(401)
  })

  it('names both schemes in the challenge when no token was sent', async () => {
    const res = await send(`${server.url}/notes`)
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api", DPoP algs="[A-Za-z0-9 ]+"$/)
  })

  it('checks the proof of a POST with its own method', async () => {
    const t = await boundToken()
    const proof = await client.proof({ htm: 'POST', htu: `${ORIGIN}/notes`, token: t })
    const res = await send(`${server.url}/notes`, {
      method: 'POST',
      headers: { Authorization: `DPoP ${t}`, DPoP: proof, 'Content-Type': 'application/json' },
      body: '{}',
    })
    expect(res.status).toBe(200)
  })

  it('asks for a server nonce, then accepts the proof that carries it', async () => {
    const t = await boundToken()
    const first = await call('/nonce', t, await proofFor(t, '/nonce'))
    expect(first.status).toBe(401)
    expect(first.json.code).toBe('auth.use_dpop_nonce')
    expect(first.headers['www-authenticate']).toBe('DPoP error="use_dpop_nonce"')
    const nonce = first.headers['dpop-nonce'] as string
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const second = await call('/nonce', t, await proofFor(t, '/nonce', { nonce }))
    expect(second.status).toBe(200)
  })

  it('refuses a nonce it never issued', async () => {
    const t = await boundToken()
    const res = await call('/nonce', t, await proofFor(t, '/nonce', { nonce: 'B'.repeat(43) }))
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('auth.use_dpop_nonce')
    expect(res.headers['dpop-nonce']).not.toBe('B'.repeat(43))
  })

  it('accepts a nonce of the previous secret after a rotation, and hands out the new one', async () => {
    const t = await boundToken()
    const old = (await call('/nonce', t, await proofFor(t, '/nonce'))).headers['dpop-nonce'] as string
    const res = await call('/rotated', t, await proofFor(t, '/rotated', { nonce: old }))
    expect(res.status).toBe(200)
    const fresh = res.headers['dpop-nonce'] as string
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(fresh).not.toBe(old)
    const back = await call('/nonce', t, await proofFor(t, '/nonce', { nonce: fresh }))
    expect(back.status).toBe(401)
  })

  it('binds introspected tokens to the proof key as well', async () => {
    const bound = as.issue({ sub: 'user-2', cnf: { jkt: client.jkt } })
    const ok = await call('/introspected', bound, await proofFor(bound, '/introspected'))
    expect(ok.status).toBe(200)
    expect(ok.json.auth.id).toBe('user-2')
    const asBearer = await send(`${server.url}/introspected`, {
      headers: { Authorization: `Bearer ${bound}` },
    })
    expect(asBearer.status).toBe(401)
    const wrongKey = as.issue({ sub: 'user-2', cnf: { jkt: other.jkt } })
    expect((await call('/introspected', wrongKey, await proofFor(wrongKey, '/introspected'))).status).toBe(
      401,
    )
  })
})

describe('dpop() options', () => {
  it('requires the public origin', () => {
    expect(() => dpop({} as never)).toThrow(/origin is required/)
  })

  it('refuses an origin with a path', () => {
    expect(() => dpop({ origin: 'https://api.example.test/v1' })).toThrow(/is not an origin/)
  })

  it('refuses symmetric algorithms', () => {
    expect(() => dpop({ origin: ORIGIN, algorithms: ['HS256'] })).toThrow(/cannot sign proofs/)
  })

  it('refuses a short nonce secret', () => {
    expect(() => dpop({ origin: ORIGIN, nonceSecret: 'short' })).toThrow(/at least 32 characters/)
  })

  it('names the option another library calls iatLeeway', () => {
    expect(() => dpop({ origin: ORIGIN, iatLeeway: 5 } as never)).toThrow(/did you mean "clockTolerance"/)
  })

  it('refuses a dpop option that dpop() did not build', () => {
    expect(() =>
      jwt({ publicKey, issuer: ISSUER, audience: AUDIENCE, dpop: { origin: ORIGIN } as never }),
    ).toThrow(/dpop is the policy dpop\(\{ origin \}\) builds/)
  })
})

import { createHmac, createPublicKey, randomUUID } from 'node:crypto'
import { jwt, memoryRevocationStore } from '@apiward/auth'
import type { SecurityEvent } from '@apiward/core'
import { SecurityEventBus } from '@apiward/core'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Answer, send, sleep } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import {
  AUDIENCE,
  b64,
  ENDLESS_BYTES,
  forge,
  ISSUER,
  type JwksServer,
  type SigningKey,
  sign,
  signingKey,
  signRaw,
  standardClaims,
  startJwksServer,
  startTrap,
} from './jwt-support.js'

let es: SigningKey
let rs: SigningKey
let attacker: SigningKey
let jwks: JwksServer
let trap: Awaited<ReturnType<typeof startTrap>>

beforeAll(async () => {
  es = await signingKey('ES256', 'es-1')
  rs = await signingKey('RS256', 'rs-1')
  attacker = await signingKey('ES256', 'es-1')
  jwks = await startJwksServer([es.publicJwk, rs.publicJwk])
  trap = await startTrap()
})
afterAll(async () => {
  await jwks.close()
  await trap.close()
})

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } })

function expectInvalidToken(answer: Answer): void {
  expect(answer.status).toBe(401)
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(answer.json.code).toBe('auth.invalid_token')
  expect(answer.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
  // The request ID is random and may spell any of these words; the rest of the body may not.
  const { requestId: _, ...body } = answer.json as Record<string, unknown>
  expect(JSON.stringify(body)).not.toMatch(/expired|signature|kid|stack|jose/i)
}

/** Forgeries that must all be refused with the same 401. */
async function forgeries(): Promise<Array<[string, string]>> {
  const rsPem = createPublicKey({ key: rs.publicJwk as never, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString()
  const hsHeader = b64({ alg: 'HS256', kid: rs.kid, typ: 'JWT' })
  const hsPayload = b64(standardClaims())
  const hsSig = createHmac('sha256', rsPem).update(`${hsHeader}.${hsPayload}`).digest('base64url')
  const attackerJwk = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)) }
  const embedded = await new SignJWT(standardClaims())
    .setProtectedHeader({ alg: 'ES256', jwk: attacker.publicJwk })
    .sign(attacker.privateKey)
  const now = Math.floor(Date.now() / 1000)
  const esHeader = { alg: 'ES256', kid: es.kid, typ: 'at+jwt' }
  /** Valid claims as JSON text with `member` last, so it wins over the claim of the same name. */
  const claimsText = (member: string) => `${JSON.stringify(standardClaims()).slice(0, -1)},${member}}`
  const list: Array<[string, string]> = [
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, string] => [
      `alg ${alg}`,
      forge({ alg, typ: 'JWT' }, standardClaims()),
    ]),
    ['alg none with a signature', forge({ alg: 'none' }, standardClaims(), 'c2ln')],
    ['HS256 signed with the RSA public key PEM', `${hsHeader}.${hsPayload}.${hsSig}`],
    ['an attacker key under the trusted kid', await sign(attacker, {})],
    ['an embedded jwk', embedded],
    [
      'an embedded jwk under the trusted kid',
      await new SignJWT(standardClaims())
        .setProtectedHeader({ alg: 'ES256', kid: es.kid, jwk: attackerJwk })
        .sign(attacker.privateKey),
    ],
    [
      'a jku pointing at the attacker',
      await new SignJWT(standardClaims())
        .setProtectedHeader({ alg: 'ES256', kid: 'attacker', jku: trap.url })
        .sign(attacker.privateKey),
    ],
    [
      'an x5u pointing at the attacker',
      await new SignJWT(standardClaims())
        .setProtectedHeader({ alg: 'ES256', kid: 'attacker', x5u: trap.url })
        .sign(attacker.privateKey),
    ],
    [
      'an unknown crit',
      signRaw(
        es,
        { alg: 'ES256', kid: es.kid, typ: 'at+jwt', crit: ['urn:example:must'], 'urn:example:must': true },
        standardClaims(),
      ),
    ],
    [
      'b64 false',
      signRaw(es, { alg: 'ES256', kid: es.kid, typ: 'at+jwt', b64: false, crit: ['b64'] }, standardClaims()),
    ],
    ['an expired token', await sign(es, { exp: now - 120 })],
    ['a token not valid before a minute from now', await sign(es, { nbf: now + 60 })],
    ['a token without exp', await sign(es, {}, {}, 0)],
    ['exp as a string', await sign(es, { exp: String(now + 600) as never })],
    ['an aud array without our audience', await sign(es, { aud: ['https://other.example', 'x'] })],
    ['a wrong iss', await sign(es, { iss: 'https://evil.example/' })],
    ['a token without sub', await sign(es, { sub: undefined })],
    [
      'an ES256 all-zero signature',
      forge({ alg: 'ES256', kid: es.kid }, standardClaims(), b64(Buffer.alloc(64))),
    ],
    [
      'an ES256 signature with r = s = 0 in DER',
      forge(
        { alg: 'ES256', kid: es.kid },
        standardClaims(),
        Buffer.from('3006020100020100', 'hex').toString('base64url'),
      ),
    ],
    ['a JWE-shaped token', `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`],
    ['a JWE with dir', `${b64({ alg: 'dir', enc: 'A128GCM', kid: es.kid })}..aXY.Y3Q.dGFn`],
    ['a token of two parts', `${b64({ alg: 'ES256' })}.${b64(standardClaims())}`],
    ['a header that is not JSON', `${b64('not json')}.${b64(standardClaims())}.c2ln`],
    ['a header that is an array', `${b64([1])}.${b64(standardClaims())}.c2ln`],
    ['a payload that is not JSON', `${b64({ alg: 'ES256', kid: es.kid })}.${b64('{')}.c2ln`],
    ['a kid that is not a string', forge({ alg: 'ES256', kid: { $ne: 1 } }, standardClaims(), 'c2ln')],
    [
      'a __proto__ header',
      forge(JSON.parse('{"alg":"ES256","__proto__":{"alg":"none"}}'), standardClaims(), 'c2ln'),
    ],
    [
      'an 8 KB token',
      forge({ alg: 'ES256', kid: es.kid }, standardClaims({ pad: 'x'.repeat(8000) }), 'c2ln'),
    ],
    ['a typ that is not at+jwt', await sign(es, {}, { typ: 'JWT' })],
    ['exp 1e309, which parses to Infinity', signRaw(es, esHeader, claimsText('"exp":1e309'))],
    ['exp of 400 digits', signRaw(es, esHeader, claimsText(`"exp":${'9'.repeat(400)}`))],
    ['exp 1e20', await sign(es, { exp: 1e20 })],
    ['exp after the year 9999', await sign(es, { exp: 253_402_300_800 })],
    ['iat 1e308', await sign(es, { iat: 1e308 })],
    ['nbf -1e308', await sign(es, { nbf: -1e308 })],
    ['auth_time that is not a number', await sign(es, { auth_time: 'yesterday' })],
    ['iat an hour from now', await sign(es, { iat: now + 3600, exp: now + 7200 })],
    ['exp before iat', await sign(es, { iat: now + 4, exp: now + 2 })],
    ['a numeric sub', await sign(es, { sub: 42 as never })],
    ['a numeric jti', await sign(es, { jti: 12_345 as never })],
    ['a numeric client_id', await sign(es, { client_id: 7 })],
    ['a scope that is an array', await sign(es, { scope: ['admin'] as never })],
    ['an aud array holding a number', await sign(es, { aud: [AUDIENCE, 5] as never })],
    ['an scp that is an object', await sign(es, { scp: { admin: true } })],
    ['roles that are a number', await sign(es, { roles: 1 })],
  ]
  return list
}

/** An answer without what legitimately differs between two requests: the date and the request ID. */
function comparable(answer: Answer) {
  const { date: _date, 'x-request-id': _id, ...headers } = answer.headers
  const { requestId: _requestId, ...body } = answer.json ?? {}
  return { status: answer.status, headers, body }
}

describe.each(harnesses)('jwt() through $name', (harness) => {
  let server: RunningServer
  let tokens: Array<[string, string]>
  const events: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  const revocation = memoryRevocationStore()
  let rotation: JwksServer
  let endless: JwksServer

  beforeAll(async () => {
    tokens = await forgeries()
    rotation = await startJwksServer([es.publicJwk])
    endless = await startJwksServer([es.publicJwk])
    const streamed = { cooldownMs: 300, maxAgeMs: 200, timeoutMs: 2000, maxBytes: 65_536 }
    const common = { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', events: bus }
    server = await harness.start({
      events: bus,
      routes: [
        { method: 'GET', path: '/me', guards: [jwt({ jwksUri: jwks.url, ...common, revocation })] },
        {
          method: 'GET',
          path: '/nocache',
          guards: [jwt({ jwksUri: jwks.url, ...common, algorithms: ['ES256', 'RS256'], tokenCache: false })],
        },
        {
          method: 'GET',
          path: '/rotating',
          guards: [
            jwt({
              jwksUri: rotation.url,
              ...common,
              jwksOptions: { cooldownMs: 300, maxAgeMs: 200, timeoutMs: 300 },
            }),
          ],
        },
        {
          method: 'GET',
          path: '/streamed',
          guards: [jwt({ jwksUri: endless.url, ...common, jwksOptions: streamed })],
        },
        {
          method: 'GET',
          path: '/streamed-first',
          guards: [jwt({ jwksUri: `${endless.url}?fresh`, ...common, jwksOptions: streamed })],
        },
        {
          method: 'GET',
          path: '/short-lived',
          guards: [jwt({ jwks: { keys: [es.publicJwk] }, ...common, maxTokenLifetime: 3600 })],
        },
        {
          method: 'GET',
          path: '/optional',
          guards: [jwt({ jwks: { keys: [es.publicJwk] }, ...common, required: false })],
        },
        {
          method: 'GET',
          path: '/query',
          guards: [jwt({ jwks: { keys: [es.publicJwk] }, ...common, tokenLocations: ['header', 'query'] })],
        },
      ],
    })
  })
  afterAll(async () => {
    await server?.close()
    await rotation?.close()
    await endless?.close()
  })

  it('accepts a valid ES256 token and exposes the principal', async () => {
    const a = await send(`${server.url}/me`, bearer(await sign(es, { roles: ['editor'] })))
    expect(a.status).toBe(200)
    expect(a.json.auth).toMatchObject({
      id: 'alice',
      kind: 'user',
      scopes: ['notes:read', 'notes:write'],
      roles: ['editor'],
      credential: 'jwt',
    })
    expect(a.json.auth.claims.iss).toBe(ISSUER)
  })

  it('accepts a valid RS256 token, with and without the verified-token cache', async () => {
    const token = await sign(rs)
    for (const path of ['/me', '/me', '/nocache', '/nocache']) {
      expect((await send(server.url + path, bearer(token))).status).toBe(200)
    }
  })

  it('accepts the scheme in any letter case', async () => {
    const token = await sign(es)
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const a = await send(`${server.url}/me`, { headers: { Authorization: `${scheme} ${token}` } })
      expect(a.status).toBe(200)
    }
  })

  it('asks for a token with a bare challenge when none is sent', async () => {
    const a = await send(`${server.url}/me`)
    expect(a.status).toBe(401)
    expect(a.json.code).toBe('auth.missing_token')
    expect(a.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('refuses every forged or invalid token with the same 401, with and without the cache', async () => {
    const before = events.length
    for (const path of ['/me', '/nocache']) {
      for (const [name, token] of tokens) {
        const a = await send(server.url + path, bearer(token))
        try {
          expectInvalidToken(a)
        } catch (err) {
          throw new Error(`${name} on ${path}: ${a.status} ${a.text}`, { cause: err })
        }
      }
    }
    const failures = events.slice(before).filter((e) => e.type === 'auth.failure')
    expect(failures.length).toBe(tokens.length * 2)
    expect(events.slice(before).filter((e) => e.type === 'auth.error' || e.type === 'server.error')).toEqual(
      [],
    )
    expect(new Set(failures.map((e) => e.reason)).size).toBeGreaterThan(5)
    expect(JSON.stringify(failures)).not.toContain(tokens[0]![1])
  })

  it('answers every invalid token byte for byte alike, whatever the reason', async () => {
    const answers = []
    for (const [, token] of tokens)
      answers.push(comparable(await send(`${server.url}/nocache`, bearer(token))))
    for (const answer of answers) expect(answer).toEqual(answers[0])
    expect(answers[0]!.body).toEqual({
      type: 'urn:apiward:problem:auth.invalid_token',
      title: 'Unauthorized',
      status: 401,
      code: 'auth.invalid_token',
      detail: 'The access token is invalid.',
    })
  })

  it('bounds exp - iat with maxTokenLifetime, and then requires iat', async () => {
    const now = Math.floor(Date.now() / 1000)
    expect((await send(`${server.url}/short-lived`, bearer(await sign(es, {}, {}, 3600)))).status).toBe(200)
    const before = events.length
    expectInvalidToken(await send(`${server.url}/short-lived`, bearer(await sign(es, {}, {}, 3601))))
    expectInvalidToken(await send(`${server.url}/short-lived`, bearer(await sign(es, { iat: undefined }))))
    expectInvalidToken(
      await send(`${server.url}/short-lived`, bearer(await sign(es, { iat: now - 86_400, exp: now + 60 }))),
    )
    const reasons = events
      .slice(before)
      .filter((e) => e.type === 'auth.failure')
      .map((e) => e.reason)
    expect(reasons).toEqual(['lifetime_too_long', 'missing_claim', 'lifetime_too_long'])
  })

  it('stops reading a chunked JWKS at maxBytes and keeps serving the keys it has', async () => {
    const known = bearer(await sign(es))
    expect((await send(`${server.url}/streamed`, known)).status).toBe(200)
    endless.mode = 'endless'
    endless.streamed = 0
    await sleep(350)
    const started = Date.now()
    // An unknown kid makes the guard refetch and wait for the answer.
    expectInvalidToken(
      await send(`${server.url}/streamed`, bearer(await sign({ ...attacker, kid: randomUUID() }))),
    )
    expect(Date.now() - started).toBeLessThan(1500)
    await sleep(50)
    expect(endless.dropped).toBe(1)
    expect(endless.streamed).toBeGreaterThan(0)
    expect(endless.streamed).toBeLessThan(65_536 + 4 * 16_384)
    expect(endless.streamed).toBeLessThan(ENDLESS_BYTES / 100)
    expect((await send(`${server.url}/streamed`, known)).status).toBe(200)
    const never = await send(`${server.url}/streamed-first`, known)
    expectInvalidToken(never)
    await sleep(50)
    expect(endless.dropped).toBe(2)
    expect(endless.streamed).toBeLessThan(2 * (65_536 + 4 * 16_384))
    const failed = events.filter((e) => e.type === 'jwks.refresh_failed' && /maxBytes/.test(String(e.reason)))
    expect(failed.length).toBeGreaterThanOrEqual(2)
    endless.mode = 'ok'
    await sleep(350)
    expect((await send(`${server.url}/streamed-first`, known)).status).toBe(200)
  })

  it('never fetches a jku or x5u URL', () => {
    expect(trap.hits).toBe(0)
  })

  it('answers a 20 KB token with a 4xx, never a 5xx', async () => {
    const token = forge({ alg: 'ES256', kid: es.kid }, standardClaims({ pad: 'x'.repeat(20_000) }), 'c2ln')
    const a = await send(`${server.url}/me`, bearer(token))
    expect(a.status).toBeGreaterThanOrEqual(400)
    expect(a.status).toBeLessThan(500)
  })

  it.each([['Bearer'], ['Bearer '], ['Bearer a b'], ['Bearer tok"en'], ['Bearer ###'], ['Bearer\tabc']])(
    'refuses the malformed Authorization value %j with 400 invalid_request',
    async (value) => {
      const a = await send(`${server.url}/me`, { headers: { Authorization: value } })
      expect(a.status).toBe(400)
      expect(a.json.code).toBe('auth.invalid_request')
      expect(a.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_request"')
    },
  )

  it('treats another scheme as no bearer token', async () => {
    const a = await send(`${server.url}/me`, { headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0' } })
    expect(a.status).toBe(401)
    expect(a.json.code).toBe('auth.missing_token')
  })

  it('refuses two Authorization headers with 400 invalid_request, even when both are valid', async () => {
    const token = await sign(es)
    const a = await send(`${server.url}/me`, {
      headers: [
        ['Authorization', `Bearer ${token}`],
        ['Authorization', `Bearer ${token}`],
      ],
    })
    expect(a.status).toBe(400)
    expect(a.json.code).toBe('auth.invalid_request')
  })

  it('ignores a token in the query unless query tokens are enabled', async () => {
    const token = await sign(es)
    const a = await send(`${server.url}/me?access_token=${token}`)
    expect(a.status).toBe(401)
    expect(a.json.code).toBe('auth.missing_token')
    expect((await send(`${server.url}/query?access_token=${token}`)).status).toBe(200)
  })

  it('refuses a token sent in the header and the query at once', async () => {
    const token = await sign(es)
    const a = await send(`${server.url}/query?access_token=${token}`, bearer(token))
    expect(a.status).toBe(400)
    expect(a.json.code).toBe('auth.invalid_request')
  })

  it('lets anonymous requests through when optional, but never a bad token', async () => {
    const anonymous = await send(`${server.url}/optional`)
    expect(anonymous.status).toBe(200)
    expect(anonymous.json.auth).toBeNull()
    expectInvalidToken(await send(`${server.url}/optional`, bearer(tokens[0]![1])))
  })

  it('refuses a revoked token at once, although it is cached', async () => {
    const jti = randomUUID()
    const token = await sign(es, { jti })
    expect((await send(`${server.url}/me`, bearer(token))).status).toBe(200)
    revocation.revoke(jti, Math.floor(Date.now() / 1000) + 600)
    expectInvalidToken(await send(`${server.url}/me`, bearer(token)))
  })

  it('refetches the JWKS at most once for 40 unknown kids at once', async () => {
    await sleep(350)
    const before = jwks.hits
    const forged = await Promise.all(
      Array.from({ length: 40 }, () => sign({ ...attacker, kid: randomUUID() })),
    )
    const answers = await Promise.all(forged.map((t) => send(`${server.url}/me`, bearer(t))))
    for (const a of answers) expectInvalidToken(a)
    expect(jwks.hits - before).toBeLessThanOrEqual(1)
  })

  it('follows a key rotation, and keeps serving cached keys while the JWKS is down or garbage', async () => {
    expect((await send(`${server.url}/rotating`, bearer(await sign(es)))).status).toBe(200)
    const next = await signingKey('ES256', `es-next-${harness.name}`)
    rotation.keys = [es.publicJwk, next.publicJwk]
    await sleep(350)
    expect((await send(`${server.url}/rotating`, bearer(await sign(next)))).status).toBe(200)
    for (const mode of ['down', 'garbage', 'empty', 'slow'] as const) {
      rotation.mode = mode
      await sleep(350)
      const started = Date.now()
      const known = await send(`${server.url}/rotating`, bearer(await sign(es, { jti: randomUUID() })))
      expect(known.status, mode).toBe(200)
      const unknown = await send(
        `${server.url}/rotating`,
        bearer(await sign({ ...attacker, kid: randomUUID() })),
      )
      expectInvalidToken(unknown)
      expect(Date.now() - started).toBeLessThan(2000)
    }
    rotation.mode = 'ok'
  })
})

describe('jwt() against a JWKS endpoint that never answered', () => {
  let server: RunningServer
  let slow: JwksServer
  beforeAll(async () => {
    slow = await startJwksServer([es.publicJwk])
    slow.mode = 'slow'
    server = await harnesses[0]!.start({
      routes: [
        {
          method: 'GET',
          path: '/me',
          guards: [
            jwt({ jwksUri: slow.url, issuer: ISSUER, audience: AUDIENCE, jwksOptions: { timeoutMs: 300 } }),
          ],
        },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
    await slow.close()
  })

  it('answers 401 within the fetch timeout instead of hanging, then recovers', async () => {
    const started = Date.now()
    expectInvalidToken(await send(`${server.url}/me`, bearer(await sign(es))))
    expect(Date.now() - started).toBeLessThan(1500)
    slow.mode = 'ok'
    await sleep(50)
    expect((await send(`${server.url}/me`, bearer(await sign({ ...es, kid: 'es-1' })))).status).toBe(200)
  })
})

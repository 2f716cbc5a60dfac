import { randomBytes } from 'node:crypto'
import { anyOf, apiKey, jwt } from '@apiward/auth'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

const secret = randomBytes(32)
const ISS = 'https://id.example.test/'
const AUD = 'https://api.example.test'
const token = (sub = 'alice') =>
  new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISS)
    .setAudience(AUD)
    .setExpirationTime('10m')
    .sign(secret)
const base = { secret, issuer: ISS, audience: AUD }

describe.each(harnesses)('jwt() tokens from a cookie or an extractor through $name', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({
      routes: [
        { method: 'GET', path: '/header', guards: [jwt(base)] },
        {
          method: 'GET',
          path: '/cookie',
          guards: [jwt({ ...base, tokenLocations: ['cookie'], cookie: 'access_token' })],
        },
        {
          method: 'GET',
          path: '/either',
          guards: [jwt({ ...base, tokenLocations: ['header', 'cookie'], cookie: 'access_token' })],
        },
        {
          method: 'GET',
          path: '/custom',
          guards: [jwt({ ...base, extractToken: (req) => req.header('x-access-token') })],
        },
        {
          method: 'GET',
          path: '/broken',
          guards: [
            jwt({
              ...base,
              extractToken: () => {
                throw new Error('decoder failed')
              },
            }),
          ],
        },
        {
          method: 'GET',
          path: '/any',
          guards: [
            anyOf(
              jwt({ ...base, tokenLocations: ['cookie'], cookie: 'access_token' }),
              apiKey({ prefix: 'ak_test', lookup: () => undefined }),
            ),
          ],
        },
      ],
    })
  })
  afterAll(async () => {
    await server?.close()
  })
  const get = (path: string, headers: Record<string, string> | Array<[string, string]> = {}) =>
    send(`${server.url}${path}`, { headers })

  it('reads no cookie by default: a token cookie on a header-only guard is no credential', async () => {
    const a = await get('/header', { Cookie: `access_token=${await token()}` })
    expect(a.status).toBe(401)
    expect(a.json.code).toBe('auth.missing_token')
  })

  it('authenticates with the named cookie, among others, and ignores the Authorization header there', async () => {
    const a = await get('/cookie', { Cookie: `theme=dark; access_token=${await token()}; lang=en` })
    expect(a.status).toBe(200)
    expect(a.json.auth.id).toBe('alice')
    const header = await get('/cookie', { Authorization: `Bearer ${await token()}` })
    expect(header.status).toBe(401)
    expect(header.json.code).toBe('auth.missing_token')
  })

  it('accepts a quoted cookie value and a second Cookie header line', async () => {
    const quoted = await get('/cookie', { Cookie: `access_token="${await token()}"` })
    expect(quoted.status).toBe(200)
    const split = await get('/cookie', [
      ['Cookie', 'theme=dark'],
      ['Cookie', `access_token=${await token('bob')}`],
    ])
    expect([split.status, split.json?.auth?.id]).toEqual([200, 'bob'])
  })

  it('refuses a token cookie sent twice (cookie tossing) with 400 invalid_request', async () => {
    const a = await get('/cookie', {
      Cookie: `access_token=${await token('eve')}; access_token=${await token()}`,
    })
    expect(a.status).toBe(400)
    expect(a.json.code).toBe('auth.invalid_request')
    expect(a.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_request"')
  })

  it('refuses a forged or malformed cookie token with the usual answers', async () => {
    const forged = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setExpirationTime('10m')
      .sign(randomBytes(32))
    const a = await get('/cookie', { Cookie: `access_token=${forged}` })
    expect([a.status, a.json.code]).toEqual([401, 'auth.invalid_token'])
    const b = await get('/cookie', { Cookie: 'access_token=not%20a%20token' })
    expect([b.status, b.json.code]).toEqual([400, 'auth.invalid_request'])
    const empty = await get('/cookie', { Cookie: 'access_token=' })
    expect([empty.status, empty.json.code]).toEqual([400, 'auth.invalid_request'])
  })

  it('with header and cookie enabled, takes either but refuses a token in both', async () => {
    const t = await token()
    expect((await get('/either', { Authorization: `Bearer ${t}` })).status).toBe(200)
    expect((await get('/either', { Cookie: `access_token=${t}` })).status).toBe(200)
    const both = await get('/either', { Authorization: `Bearer ${t}`, Cookie: `access_token=${t}` })
    expect([both.status, both.json.code]).toEqual([400, 'auth.invalid_request'])
  })

  it('authenticates with a custom extractor and refuses what it finds when it is not a valid token', async () => {
    const a = await get('/custom', { 'X-Access-Token': await token() })
    expect([a.status, a.json.auth?.id]).toEqual([200, 'alice'])
    expect((await get('/custom', { Authorization: `Bearer ${await token()}` })).json.code).toBe(
      'auth.missing_token',
    )
    const bad = await get('/custom', { 'X-Access-Token': 'a b' })
    expect([bad.status, bad.json.code]).toEqual([400, 'auth.invalid_request'])
  })

  it('answers 400, never 500, when the extractor throws', async () => {
    const a = await get('/broken', { 'X-Access-Token': await token() })
    expect([a.status, a.json.code]).toEqual([400, 'auth.invalid_request'])
    expect(a.text).not.toContain('decoder failed')
  })

  it('lets anyOf() see a cookie token as the credential of jwt()', async () => {
    const ok = await get('/any', { Cookie: `access_token=${await token()}` })
    expect([ok.status, ok.json.auth?.credential]).toEqual([200, 'jwt'])
    const forged = await get('/any', { Cookie: 'access_token=eyJ.eyJ.sig' })
    expect([forged.status, forged.json.code]).toEqual([401, 'auth.invalid_token'])
  })
})

const nothing = (): undefined => undefined

describe('jwt() token source options', () => {
  it.each<[Record<string, unknown>, RegExp]>([
    [{ cookie: 'access_token' }, /tokenLocations does not list 'cookie'/],
    [{ tokenLocations: ['cookie'] }, /name it with cookie: 'access_token'/],
    [{ tokenLocations: ['cookie'], cookie: 'bad name' }, /cookie is the name of the cookie/],
    [{ tokenLocations: ['cookie'], cookie: 5 }, /cookie is the name of the cookie/],
    [{ extractToken: 'x-token' }, /extractToken is a function/],
    [{ extractToken: nothing, tokenLocations: ['header'] }, /drop tokenLocations and cookie/],
    [{ extractToken: nothing, cookie: 'access_token' }, /drop tokenLocations and cookie/],
  ])('refuses %j at startup', (bad, message) => {
    expect(() => jwt({ ...base, ...bad } as never)).toThrow(TypeError)
    expect(() => jwt({ ...base, ...bad } as never)).toThrow(message)
  })
})

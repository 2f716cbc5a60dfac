import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { apiKey, type JwtDiagnostic, type JwtOptions, jwt } from '@apiward/auth'
import { configureWarnings, resetWarnings } from '@apiward/core'
import { SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { denial, outcome, type TestContext, withToken } from './support.js'

const ISS = 'https://id.example.test/'
const AUD = 'api'
const secret = randomBytes(32)
const now = () => Math.floor(Date.now() / 1000)
const hsToken = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  new SignJWT({ iss: ISS, aud: AUD, sub: 'alice', iat: now(), exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', ...header })
    .sign(secret)
const base = { secret, issuer: ISS, audience: AUD }
const reasons = (ctx: TestContext) => ctx.seen.filter((e) => e.type === 'auth.failure').map((e) => e.reason)

/** Warnings given through core's channel while a test runs. */
let warnings: { code: string; message: string; docs: string | undefined }[] = []
beforeEach(() => {
  warnings = []
  resetWarnings()
  configureWarnings({ logger: (code, message, docs) => warnings.push({ code, message, docs }) })
})
afterEach(() => configureWarnings())

describe('jwt() option values', () => {
  it.each([
    [{ jwksOptions: { timeoutMs: '3s' } }, /jwksOptions\.timeoutMs is a positive integer/],
    [{ jwksOptions: { cooldownMs: -1 } }, /jwksOptions\.cooldownMs/],
    [{ rolesClaim: 5 }, /rolesClaim is the claim path of the roles/],
    [{ rolesClaim: '' }, /rolesClaim/],
    [{ typ: 5 }, /typ is the required typ header/],
    [{ required: 'no' }, /required is true or false/],
    [{ issuers: { [ISS]: { secret } } }, /give issuer .* or issuers .*, not both/],
    [{ verifyClaims: true }, /verifyClaims must be a function/],
    [{ validate: 'yes' }, /validate must be a function/],
    [{ isRevoked: false }, /isRevoked must be a function/],
    [{ logger: 'console' }, /logger must be a function/],
    [{ revocation: {} }, /revocation is a RevocationStore/],
    [{ tokenCache: { maxx: 10 } }, /tokenCache: unknown option "maxx"; did you mean "max"/],
    [{ tokenCache: { max: 0 } }, /tokenCache\.max is a positive integer/],
    [{ tokenCache: true }, /tokenCache: options must be an object/],
    [{ audience: '' }, /audience is a non-empty string/],
    [{ audience: [AUD, 5] }, /audience is a non-empty string/],
    [{ issuer: [] }, /issuer is a non-empty string/],
    [{ requiredClaims: [1] }, /requiredClaims is a non-empty string/],
    [{ maxTokenAge: '60' }, /maxTokenAge is a positive number of seconds/],
    [{ maxTokenLifetime: 0 }, /maxTokenLifetime is a positive number of seconds/],
    [{ dangerouslyAllowAnyAudience: 'true' }, /dangerouslyAllowAnyAudience must be true or false/],
    [{ events: {} }, /events is a SecurityEventBus/],
    [{ issuer: 'https://id.example.test/?tenant=a' }, /has a query or fragment/],
    [{ issuer: 'https://id.example.test/#top' }, /has a query or fragment/],
    [{ issuer: 'https://admin:pw@id.example.test/' }, /has userinfo/],
    [{ issuer: [ISS, 'https://user@other.example/'] }, /has userinfo/],
  ])('refuses %j at startup with a TypeError naming the option', (bad, message) => {
    const options = { ...base, ...bad } as unknown as JwtOptions
    expect(() => jwt(options)).toThrow(TypeError)
    expect(() => jwt(options)).toThrow(message)
  })

  it('refuses an issuers key with userinfo, and keys per issuer next to issuer', () => {
    expect(() => jwt({ issuers: { 'https://u:p@id.example/': { secret } }, audience: AUD })).toThrow(
      /has userinfo/,
    )
    expect(() => jwt({ issuers: 5 as never, audience: AUD })).toThrow(/issuers maps each issuer to its keys/)
  })

  it('accepts an issuer that is not a URL, as RFC 7519 allows any StringOrURI', async () => {
    const guard = jwt({ ...base, issuer: 'acme-issuer' })
    expect(await outcome(guard, withToken(await hsToken({ iss: 'acme-issuer' })))).toBeUndefined()
  })

  it('checks jwksOptions even when the keys are local', () => {
    expect(() => jwt({ ...base, jwksOptions: { maxBytes: 'big' as never } })).toThrow(/jwksOptions\.maxBytes/)
  })

  it.each([
    ['credentialsRequired', false, /did you mean "required"/],
    ['passthrough', true, /did you mean "required: false"/],
    ['getToken', () => 'x', /did you mean "extractToken/],
    ['requestProperty', 'user', /the principal is req\.auth/],
    ['allowedIss', ISS, /did you mean "issuer"/],
    ['allowedAud', AUD, /did you mean "audience"/],
    ['maxAge', 60, /did you mean "maxTokenAge \(in seconds\)"/],
    ['ignoreExpiration', true, /an expired token is never accepted/],
    ['verify', { maxAge: 60 }, /the options themselves/],
    ['formatUser', () => ({}), /the principal is built from sub/],
  ])('points the option %s of another library to the apiward name', (name, value, message) => {
    expect(() => jwt({ ...base, [name]: value } as never)).toThrow(message)
  })

  it('points a secret function or a public/private pair to the options that fit', () => {
    expect(() => jwt({ ...base, secret: (() => 'k') as never })).toThrow(/use jwksUri/)
    expect(() => jwt({ ...base, secret: { public: 'p', private: 'k' } as never })).toThrow(/as publicKey/)
  })
})

describe('jwt() verifyClaims, formerly validate', () => {
  it('accepts only the tokens verifyClaims answers true for', async () => {
    const guard = jwt({ ...base, verifyClaims: (payload) => payload.tenant === 'acme' })
    expect(await outcome(guard, withToken(await hsToken({ tenant: 'acme' })))).toBeUndefined()
    const ctx = withToken(await hsToken({ tenant: 'other' }))
    expect((await denial(guard, ctx)).code).toBe('auth.invalid_token')
    expect(reasons(ctx)).toEqual(['rejected_by_validate'])
    expect(warnings).toEqual([])
  })

  it('still honours validate, warning once that it was renamed', async () => {
    const first = jwt({ ...base, validate: (payload) => payload.tenant === 'acme' })
    jwt({ ...base, validate: () => true })
    expect(await outcome(first, withToken(await hsToken({ tenant: 'acme' })))).toBeUndefined()
    expect((await denial(first, withToken(await hsToken({ tenant: 'x' })))).code).toBe('auth.invalid_token')
    expect(warnings.map((w) => w.code)).toEqual(['APIWARD_JWT_VALIDATE_RENAMED'])
    expect(warnings[0]!.message).toMatch(/now called verifyClaims/)
  })

  it('refuses validate next to verifyClaims', () => {
    expect(() => jwt({ ...base, validate: () => true, verifyClaims: () => true })).toThrow(
      /give only verifyClaims/,
    )
  })

  it('names the option the check came from in auth.error', async () => {
    for (const name of ['verifyClaims', 'validate'] as const) {
      const guard = jwt({ ...base, [name]: () => 'yes' })
      const ctx = withToken(await hsToken())
      await denial(guard, ctx)
      const error = ctx.seen.find((e) => e.type === 'auth.error')
      expect([error?.callback, error?.detail]).toEqual([name, `${name} answered string, not true or false`])
    }
  })
})

describe('options in seconds given in milliseconds', () => {
  it('warns once for a multiple of 1000 above an hour, naming the option and the likely value', () => {
    jwt({ ...base, maxTokenAge: 60_000 })
    expect(warnings).toMatchObject([{ code: 'APIWARD_AUTH_SECONDS_AS_MS', docs: 'auth.md#diagnostics' }])
    expect(warnings[0]!.message).toMatch(
      /maxTokenAge is in seconds, and 60000 is 16\.7 hours; if you meant 60 seconds/,
    )
  })

  it('stays silent for an hour, for values that are no multiple of 1000, and for long windows in seconds', () => {
    jwt({ ...base, maxTokenAge: 3600, maxTokenLifetime: 86_399 })
    apiKey({ prefix: 'ak_test', lookup: () => undefined, cache: { ttl: 3000 } })
    expect(warnings).toEqual([])
  })

  it('warns for the API key cache ttl', () => {
    apiKey({ prefix: 'ak_test', lookup: () => undefined, cache: { ttl: 30_000 } })
    expect(warnings[0]?.message).toMatch(/apiKey\(\): cache\.ttl is in seconds, and 30000 is 8\.3 hours/)
  })
})

describe('jwksOptions.maxAgeMs below cooldownMs', () => {
  it('warns once at startup that the refresh follows the cooldown', () => {
    jwt({ ...base, jwksOptions: { maxAgeMs: 1000, cooldownMs: 5000 } })
    expect(warnings.map((w) => w.code)).toEqual(['APIWARD_AUTH_MAX_AGE_BELOW_COOLDOWN'])
    expect(warnings[0]!.message).toMatch(/refreshed every 5000 ms, not every 1000 ms/)
  })
})

describe('auth.failure reasons', () => {
  it('says too_old, not expired, for a cached token whose iat passed maxTokenAge', async () => {
    const guard = jwt({ ...base, maxTokenAge: 60, clockTolerance: 0 })
    const token = await hsToken({ iat: now() - 59 })
    expect(await outcome(guard, withToken(token))).toBeUndefined()
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const ctx = withToken(token)
    expect((await denial(guard, ctx)).code).toBe('auth.invalid_token')
    expect(reasons(ctx)).toEqual(['too_old'])
  })

  it('says expired for a cached token past its exp', async () => {
    const guard = jwt({ ...base, clockTolerance: 0 })
    const token = await hsToken({ exp: now() + 1 })
    expect(await outcome(guard, withToken(token))).toBeUndefined()
    await new Promise((resolve) => setTimeout(resolve, 2100))
    const ctx = withToken(token)
    await denial(guard, ctx)
    expect(reasons(ctx)).toEqual(['expired'])
  })

  it.each([
    [{ nbf: -1 }, 'invalid_claim'],
    [{ nbf: 1e20 }, 'invalid_claim'],
    [{ nbf: now() + 600 }, 'not_yet_valid'],
    [{ exp: -5 }, 'invalid_claim'],
    [{ exp: now() - 600 }, 'expired'],
    [{ iat: now() + 600 }, 'issued_in_future'],
  ])('labels a token with %j as %s', async (claims, reason) => {
    const ctx = withToken(await hsToken(claims))
    await denial(jwt(base), ctx)
    expect(reasons(ctx)).toEqual([reason])
  })

  it('labels a future iat as issued_in_future, not too_old, when maxTokenAge is set', async () => {
    const ctx = withToken(await hsToken({ iat: now() + 600 }))
    await denial(jwt({ ...base, maxTokenAge: 60 }), ctx)
    expect(reasons(ctx)).toEqual(['issued_in_future'])
  })

  it('labels a key the crypto layer refuses (RSA under 2048 bits) as misconfigured, not malformed', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const input = `${segment({ alg: 'RS256' })}.${segment({ iss: ISS, aud: AUD, sub: 'a', exp: now() + 60 })}`
    const signature = createSign('RSA-SHA256').update(input).sign(weak.privateKey).toString('base64url')
    const seen: JwtDiagnostic[] = []
    const guard = jwt({ publicKey: weak.publicKey, issuer: ISS, audience: AUD, logger: (d) => seen.push(d) })
    const ctx = withToken(`${input}.${signature}`)
    expect((await denial(guard, ctx)).code).toBe('auth.invalid_token')
    expect(reasons(ctx)).toEqual(['misconfigured'])
    expect(seen[0]?.message).toMatch(/2048/)
  })
})

describe('jwt() diagnostics', () => {
  it('logs each configuration-like refusal once per reason, with expected and received values', async () => {
    const seen: JwtDiagnostic[] = []
    const guard = jwt({ ...base, issuer: 'https://id.example.test', logger: (d) => seen.push(d) })
    const token = await hsToken()
    for (let i = 0; i < 3; i++) await denial(guard, withToken(token))
    await denial(guard, withToken(await hsToken({ aud: 'another-api', iss: 'https://id.example.test' })))
    expect(seen.map((d) => [d.code, d.reason, d.expected, d.received])).toEqual([
      ['APIWARD_JWT_ISSUER_NOT_ALLOWED', 'issuer_not_allowed', '["https://id.example.test"]', `"${ISS}"`],
      ['APIWARD_JWT_AUDIENCE_NOT_ALLOWED', 'audience_not_allowed', '["api"]', '"another-api"'],
    ])
    expect(seen[0]!.message).toMatch(/differ only by a trailing slash/)
    expect(seen[0]!.docs).toBe('auth.md#diagnostics')
    for (const d of seen) expect(d.message).not.toContain(token.split('.')[2])
  })

  it('logs an algorithm the keys do not allow, and a wrong typ', async () => {
    const seen: JwtDiagnostic[] = []
    const guard = jwt({ ...base, typ: 'at+jwt', logger: (d) => seen.push(d) })
    const hs512 = await new SignJWT({ iss: ISS, aud: AUD, sub: 'a', exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS512' })
      .sign(randomBytes(64))
    await denial(guard, withToken(hs512))
    await denial(guard, withToken(await hsToken({}, { typ: 'JWT' })))
    expect(seen.map((d) => [d.reason, d.expected, d.received])).toEqual([
      ['algorithm_not_allowed', '["HS256"]', '"HS512"'],
      ['wrong_type', '"at+jwt"', '"JWT"'],
    ])
  })

  it('does not log refusals that are about the token itself, alg none included', async () => {
    const seen: JwtDiagnostic[] = []
    const guard = jwt({ ...base, logger: (d) => seen.push(d) })
    await denial(guard, withToken(await hsToken({ exp: now() - 600 })))
    await denial(guard, withToken(`${(await hsToken()).slice(0, -4)}AAAA`))
    const [, payload] = (await hsToken()).split('.')
    const ctx = withToken(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`)
    await denial(guard, ctx)
    expect(reasons(ctx)).toEqual(['algorithm_not_allowed'])
    expect(seen).toEqual([])
  })

  it('goes to core warnings by default, once per process and reason, and nowhere with logger: false', async () => {
    const token = await hsToken({ iss: 'https://elsewhere.example/' })
    await denial(jwt(base), withToken(token))
    await denial(jwt(base), withToken(token))
    expect(warnings.map((w) => w.code)).toEqual(['APIWARD_JWT_ISSUER_NOT_ALLOWED'])
    expect(warnings[0]!.message).toMatch(
      /expected \["https:\/\/id\.example\.test\/"\], received "https:\/\/elsewhere\.example\/"/,
    )
    resetWarnings()
    warnings = []
    await denial(jwt({ ...base, logger: false }), withToken(token))
    expect(warnings).toEqual([])
  })

  it('falls back to the warning line when the logger throws, and still answers 401', async () => {
    const guard = jwt({
      ...base,
      logger: () => {
        throw new Error('logger down')
      },
    })
    const err = await denial(guard, withToken(await hsToken({ aud: 'x' })))
    expect(err.status).toBe(401)
    expect(warnings.map((w) => w.code)).toEqual(['APIWARD_JWT_AUDIENCE_NOT_ALLOWED'])
  })

  it('cuts a long received value so a token cannot flood the log', async () => {
    const seen: JwtDiagnostic[] = []
    const guard = jwt({ ...base, logger: (d) => seen.push(d) })
    await denial(guard, withToken(await hsToken({ aud: 'a'.repeat(5000) })))
    expect(seen[0]!.received!.length).toBeLessThan(210)
  })
})

describe('jwt() keys that cannot be loaded', () => {
  let server: Server
  let url: string
  beforeAll(async () => {
    server = createServer((_, res) => res.writeHead(404).end('not here'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('ready() rejects naming the JWKS URL and the status it answered', async () => {
    const guard = jwt({ jwksUri: `${url}/jwks.json`, issuer: ISS, audience: AUD, logger: false })
    await expect(guard.ready()).rejects.toThrow(`jwt(): the JWK Set at ${url}/jwks.json could not be loaded`)
    await expect(guard.ready()).rejects.toThrow(/answered 404/)
  })

  it('ready() lists every issuer whose keys cannot be loaded', async () => {
    const guard = jwt({
      issuers: { [ISS]: { jwksUri: `${url}/a.json` }, 'https://b.example/': { jwksUri: `${url}/b.json` } },
      audience: AUD,
    })
    const err = (await guard.ready().catch((e: unknown) => e)) as Error
    expect(err.message).toContain(`${url}/a.json`)
    expect(err.message).toContain(`${url}/b.json`)
    expect(err.cause).toBeInstanceOf(AggregateError)
  })

  it('logs keys_unavailable with the URL and the cause on the first refused token', async () => {
    const seen: JwtDiagnostic[] = []
    const guard = jwt({
      jwksUri: `${url}/jwks.json`,
      issuer: ISS,
      audience: AUD,
      logger: (d) => seen.push(d),
    })
    const es = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const token = await new SignJWT({ iss: ISS, aud: AUD, sub: 'a', exp: now() + 60 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(es.privateKey)
    const ctx = withToken(token)
    expect((await denial(guard, ctx)).status).toBe(401)
    expect(reasons(ctx)).toEqual(['keys_unavailable'])
    expect(seen.map((d) => [d.code, d.expected])).toEqual([
      ['APIWARD_JWT_KEYS_UNAVAILABLE', `"${url}/jwks.json"`],
    ])
    expect(seen[0]!.message).toMatch(/Cause: RemoteError: answered 404/)
  })
})

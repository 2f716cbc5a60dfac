import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { jwt, memoryRevocationStore } from '@apiward/auth'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { context, outcome, withToken } from './support.js'

const ISS = 'https://id.example.test/'
const AUD = 'api'
const secret = randomBytes(32)
const now = () => Math.floor(Date.now() / 1000)

function hsToken(claims: Record<string, unknown> = {}, key: Uint8Array = secret): Promise<string> {
  return new SignJWT({ iss: ISS, aud: AUD, sub: 'alice', iat: now(), exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(key)
}

describe('jwt() options', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()

  it.each([
    [{}, /say where the keys are/],
    [{ secret, audience: AUD }, /issuer is required/],
    [{ secret, issuer: ISS }, /audience is required/],
    [{ secret: 'too-short', issuer: ISS, audience: AUD }, /at least 32 random bytes/],
    [{ secret: randomBytes(32), algorithms: ['HS512'], issuer: ISS, audience: AUD }, /at least 64/],
    [
      { publicKey: pem, algorithms: ['HS256'], issuer: ISS, audience: AUD },
      /HS\* algorithms need a shared secret/,
    ],
    [{ publicKey: pem, algorithms: ['none'], issuer: ISS, audience: AUD }, /"none" is never accepted/],
    [{ publicKey: pem, secret, issuer: ISS, audience: AUD }, /exactly one of/],
    [{ publicKey: rsa.privateKey, issuer: ISS, audience: AUD }, /publicKey/],
    [{ publicKey: 'not a pem', issuer: ISS, audience: AUD }, /publicKey could not be read/],
    [{ jwksUri: 'http://id.example.com/jwks', issuer: ISS, audience: AUD }, /must use https/],
    [{ jwksUri: 'jwks.json', issuer: ISS, audience: AUD }, /not an absolute URL/],
    [{ jwks: { keys: [] }, issuer: ISS, audience: AUD }, /no usable public verification key/],
    [{ secret, issuer: ISS, audience: AUD, clockTolerance: 300 }, /clockTolerance/],
    [{ secret, issuer: ISS, audience: AUD, tokenLocations: ['cookie'] }, /tokenLocations/],
    [{ secret, issuer: ISS, audience: AUD, jwksURI: 'x' }, /unknown option "jwksURI"/],
    [
      { jwksUri: 'https://id.example.com/jwks', issuer: ISS, audience: AUD, jwksOptions: { timeout: 500 } },
      /jwt\(\): jwksOptions: unknown option "timeout"; did you mean "timeoutMs"/,
    ],
  ])('refuses %j at build time', (options, message) => {
    expect(() => jwt(options as never)).toThrow(TypeError)
    expect(() => jwt(options as never)).toThrow(message)
  })

  it('accepts plain HTTP on loopback and with the dangerous opt-in only', () => {
    expect(() => jwt({ jwksUri: 'http://127.0.0.1:1/jwks', issuer: ISS, audience: AUD })).not.toThrow()
    expect(() =>
      jwt({ jwksUri: 'http://id.internal/jwks', issuer: ISS, audience: AUD, dangerouslyAllowHttpJwks: true }),
    ).not.toThrow()
  })

  it('verifies with a PEM public key and derives RS algorithms from it', async () => {
    const guard = jwt({ publicKey: pem, issuer: ISS, audience: AUD })
    const token = await new SignJWT({ iss: ISS, aud: AUD, sub: 'bob', exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: 'whatever' })
      .sign(rsa.privateKey)
    const ctx = withToken(token)
    expect(await outcome(guard, ctx)).toBeUndefined()
    expect(ctx.principal?.id).toBe('bob')
    const es = await generateKeyPair('ES256')
    const esToken = await new SignJWT({ iss: ISS, aud: AUD, sub: 'bob', exp: now() + 60 })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(es.privateKey)
    expect((await outcome(guard, withToken(esToken)))?.code).toBe('auth.invalid_token')
  })
})

describe('jwt() verification', () => {
  const guard = jwt({ secret, issuer: ISS, audience: AUD })

  it('maps claims to a principal: scope string, scp array, roles path, service kind', async () => {
    const deep = jwt({ secret, issuer: ISS, audience: AUD, rolesClaim: 'realm_access.roles' })
    const ctx = withToken(await hsToken({ scp: ['a', 'b'], realm_access: { roles: ['admin'] } }))
    await outcome(deep, ctx)
    expect(ctx.principal).toMatchObject({ id: 'alice', kind: 'user', scopes: ['a', 'b'], roles: ['admin'] })
    const service = withToken(await hsToken({ sub: 'client-9', client_id: 'client-9', scope: 'x  y' }))
    await outcome(guard, service)
    expect(service.principal).toMatchObject({ kind: 'service', scopes: ['x', 'y'] })
  })

  it('verifies a repeated token once and keeps answering from the cache synchronously', async () => {
    const token = await hsToken()
    expect(await outcome(guard, withToken(token))).toBeUndefined()
    const ctx = withToken(token)
    const result = guard(ctx)
    expect(result).toBeUndefined()
    expect(ctx.principal?.id).toBe('alice')
  })

  it('re-checks expiry on every cache hit', async () => {
    const strict = jwt({ secret, issuer: ISS, audience: AUD, clockTolerance: 0 })
    const exp = now() + 2
    const token = await hsToken({ exp })
    expect(await outcome(strict, withToken(token))).toBeUndefined()
    await new Promise((r) => setTimeout(r, (exp + 0.1) * 1000 - Date.now()))
    const ctx = withToken(token)
    expect((await outcome(strict, ctx))?.code).toBe('auth.invalid_token')
    expect(ctx.seen.find((e) => e.type === 'auth.failure')?.reason).toBe('expired')
  })

  it('applies maxTokenAge, requiredClaims, typ and validate', async () => {
    const picky = jwt({
      secret,
      issuer: ISS,
      audience: AUD,
      maxTokenAge: 60,
      requiredClaims: ['tenant'],
      validate: (payload) => payload.tenant === 't1',
    })
    expect(await outcome(picky, withToken(await hsToken({ tenant: 't1' })))).toBeUndefined()
    for (const claims of [
      { tenant: 't2' },
      {},
      { tenant: 't1', iat: now() - 120 },
      { tenant: 't1', iat: undefined },
    ]) {
      const ctx = withToken(await hsToken(claims))
      expect((await outcome(picky, ctx))?.code, JSON.stringify(claims)).toBe('auth.invalid_token')
    }
    const typed = jwt({ secret, issuer: ISS, audience: AUD, typ: 'at+jwt' })
    const plain = await hsToken()
    expect((await outcome(typed, withToken(plain)))?.code).toBe('auth.invalid_token')
  })

  it('accepts an aud array that contains the audience', async () => {
    expect(await outcome(guard, withToken(await hsToken({ aud: ['other', AUD] })))).toBeUndefined()
  })

  it('tolerates clock skew up to clockTolerance only', async () => {
    const skewed = jwt({ secret, issuer: ISS, audience: AUD, clockTolerance: 10, tokenCache: false })
    expect(
      await outcome(skewed, withToken(await hsToken({ iat: now() - 600, exp: now() - 5 }))),
    ).toBeUndefined()
    expect(await outcome(skewed, withToken(await hsToken({ nbf: now() + 5 })))).toBeUndefined()
    expect(
      (await outcome(skewed, withToken(await hsToken({ iat: now() - 600, exp: now() - 20 }))))?.code,
    ).toBe('auth.invalid_token')
  })

  it('refuses a token signed with another secret and names the reason only in the event', async () => {
    const ctx = withToken(await hsToken({}, randomBytes(32)))
    const err = await outcome(guard, ctx)
    expect(err?.status).toBe(401)
    expect(err?.detail).toBe('The access token is invalid.')
    expect(ctx.seen.find((e) => e.type === 'auth.failure')?.reason).toBe('bad_signature')
  })

  it('passes anonymous requests when not required', async () => {
    const optional = jwt({ secret, issuer: ISS, audience: AUD, required: false })
    const ctx = context()
    expect(await outcome(optional, ctx)).toBeUndefined()
    expect(ctx.principal).toBeUndefined()
  })

  it('reads a form body token only when enabled, and then needs the body', async () => {
    const fromBody = jwt({ secret, issuer: ISS, audience: AUD, tokenLocations: ['body'] })
    expect(fromBody.needsBody).toBe(true)
    expect(jwt({ secret, issuer: ISS, audience: AUD }).needsBody).toBe(false)
    const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }
    const ctx = context({ method: 'POST', headers: form, body: { access_token: await hsToken() } })
    expect(fromBody.hasCredential(ctx.req)).toBe(true)
    expect(await outcome(fromBody, ctx)).toBeUndefined()
  })

  it('takes no body token from a JSON body, a body without a media type, or a GET (RFC 6750 section 2.2)', async () => {
    const fromBody = jwt({ secret, issuer: ISS, audience: AUD, tokenLocations: ['header', 'body'] })
    const body = { access_token: await hsToken() }
    for (const spec of [
      { method: 'POST', headers: { 'content-type': 'application/json' }, body },
      { method: 'POST', body },
      { method: 'GET', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body },
    ]) {
      const ctx = context(spec)
      expect(fromBody.hasCredential(ctx.req)).toBe(false)
      expect((await outcome(fromBody, ctx))?.code).toBe('auth.missing_token')
    }
  })
})

describe('jwt() with several issuers', () => {
  const a = randomBytes(32)
  const b = randomBytes(32)

  it('picks the keys by issuer from a map', async () => {
    const guard = jwt({
      issuers: { 'https://a/': { secret: a }, 'https://b/': { secret: b } },
      audience: AUD,
    })
    const tokenA = await hsToken({ iss: 'https://a/' }, a)
    const tokenB = await hsToken({ iss: 'https://b/' }, b)
    const crossed = await hsToken({ iss: 'https://a/' }, b)
    const unknown = await hsToken({ iss: 'https://c/' }, a)
    expect(await outcome(guard, withToken(tokenA))).toBeUndefined()
    expect(await outcome(guard, withToken(tokenB))).toBeUndefined()
    expect((await outcome(guard, withToken(crossed)))?.code).toBe('auth.invalid_token')
    expect((await outcome(guard, withToken(unknown)))?.code).toBe('auth.invalid_token')
  })

  it('resolves issuers once each with a resolver', async () => {
    const asked: string[] = []
    const guard = jwt({
      issuers: (iss) => {
        asked.push(iss)
        return iss.startsWith('https://tenant-') ? { secret: a } : undefined
      },
      audience: AUD,
      tokenCache: false,
    })
    for (let i = 0; i < 3; i++) {
      expect(await outcome(guard, withToken(await hsToken({ iss: 'https://tenant-1/' }, a)))).toBeUndefined()
    }
    expect((await outcome(guard, withToken(await hsToken({ iss: 'https://evil/' }, a))))?.code).toBe(
      'auth.invalid_token',
    )
    expect(asked).toEqual(['https://tenant-1/', 'https://evil/'])
  })
})

describe('jwt() revocation', () => {
  it('asks isRevoked on every request, synchronously or not', async () => {
    const revoked = new Set<string>()
    const guard = jwt({
      secret,
      issuer: ISS,
      audience: AUD,
      isRevoked: async (payload) => revoked.has(payload.jti as string),
    })
    const token = await hsToken({ jti: 'j1' })
    expect(await outcome(guard, withToken(token))).toBeUndefined()
    revoked.add('j1')
    expect((await outcome(guard, withToken(token)))?.code).toBe('auth.invalid_token')
  })

  it('forgets revoked IDs after their expiry and stays bounded', () => {
    const store = memoryRevocationStore({ max: 2 })
    store.revoke('a', now() - 1)
    expect(store.isRevoked('a')).toBe(false)
    store.revoke('b', now() + 60)
    store.revoke('c', now() + 120)
    store.revoke('d', now() + 180)
    expect(store.isRevoked('b')).toBe(false)
    expect(store.isRevoked('c')).toBe(true)
    expect(store.isRevoked('d')).toBe(true)
  })

  it('keys of a JWK set exported by jose work locally', async () => {
    const pair = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1' }
    const guard = jwt({ jwks: { keys: [jwk] }, issuer: ISS, audience: AUD })
    const token = await new SignJWT({ iss: ISS, aud: AUD, sub: 's', exp: now() + 60 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(pair.privateKey)
    expect(await outcome(guard, withToken(token))).toBeUndefined()
    const other = await new SignJWT({ iss: ISS, aud: AUD, sub: 's', exp: now() + 60 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k2' })
      .sign(pair.privateKey)
    expect((await outcome(guard, withToken(other)))?.code).toBe('auth.invalid_token')
  })

  it('never verifies with a key marked for encryption, without verify in key_ops, or with another alg', async () => {
    const pair = await generateKeyPair('ES256')
    const base = { ...(await exportJWK(pair.publicKey)), kid: 'k1' }
    const token = await new SignJWT({ iss: ISS, aud: AUD, sub: 's', exp: now() + 60 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(pair.privateKey)
    for (const jwk of [
      { ...base, use: 'enc' },
      { ...base, key_ops: ['encrypt'] },
      { ...base, alg: 'ES384' },
      { ...base, crv: 'P-384' },
    ]) {
      const guard = jwt({ jwks: { keys: [jwk, { ...base, kid: 'other' }] }, issuer: ISS, audience: AUD })
      expect((await outcome(guard, withToken(token)))?.code, JSON.stringify(jwk)).toBe('auth.invalid_token')
    }
  })
})

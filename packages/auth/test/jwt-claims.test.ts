import { createHmac, randomBytes } from 'node:crypto'
import { jwt, memoryRevocationStore } from '@apiward/auth'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { outcome, withToken } from './support.js'

const ISS = 'https://id.example.test/'
const AUD = 'api'
const secret = randomBytes(32)
const now = () => Math.floor(Date.now() / 1000)
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISS,
  aud: AUD,
  sub: 'alice',
  iat: now(),
  exp: now() + 600,
  ...extra,
})

function hsToken(extra: Record<string, unknown> = {}): Promise<string> {
  const payload = claims(extra)
  for (const name of Object.keys(payload))
    if (payload[name as never] === undefined) delete payload[name as never]
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(secret)
}

/** An HS256 token over JSON text as it is: `"exp": 1e309` survives no serialiser. */
function hsTokenOfText(text: string): string {
  const input = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(text).toString('base64url')}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** Valid claims as JSON text with `member` last, so it wins over the claim of the same name. */
const claimsText = (member: string) => `${JSON.stringify(claims()).slice(0, -1)},${member}}`

/** The reason of the refusal, or `accepted`. */
async function verdict(guard: ReturnType<typeof jwt>, token: string): Promise<unknown> {
  const ctx = withToken(token)
  const err = await outcome(guard, ctx)
  if (err === undefined) return 'accepted'
  expect([err.status, err.code, err.detail]).toEqual([
    401,
    'auth.invalid_token',
    'The access token is invalid.',
  ])
  return ctx.seen.find((e) => e.type === 'auth.failure')?.reason
}

describe('jwt() NumericDate claims', () => {
  const guard = jwt({ secret, issuer: ISS, audience: AUD, tokenCache: false })

  it.each([
    ['exp 1e309, which parses to Infinity', '"exp":1e309'],
    ['exp of 400 digits', `"exp":${'9'.repeat(400)}`],
    ['exp 1e20', '"exp":1e20'],
    ['exp one second after 9999-12-31T23:59:59Z', '"exp":253402300800'],
    ['iat 1e308', '"iat":1e308'],
    ['iat -1', '"iat":-1'],
    ['nbf -1e308', '"nbf":-1e308'],
    ['nbf -Infinity', `"nbf":-${'9'.repeat(400)}`],
    ['auth_time 1e20', '"auth_time":1e20'],
    ['auth_time a string', '"auth_time":"1700000000"'],
  ])('refuses %s', async (_name, member) => {
    expect(await verdict(guard, hsTokenOfText(claimsText(member)))).toBe('invalid_claim')
  })

  it('accepts fractional NumericDates and the last second of the year 9999', async () => {
    const t = now()
    expect(await verdict(guard, await hsToken({ iat: t - 0.25, exp: t + 600.5, nbf: t - 1.5 }))).toBe(
      'accepted',
    )
    expect(await verdict(guard, await hsToken({ exp: 253_402_300_799, auth_time: 0 }))).toBe('accepted')
  })

  it('refuses an iat later than now plus clockTolerance, and an exp before iat', async () => {
    const strict = jwt({ secret, issuer: ISS, audience: AUD, clockTolerance: 5, tokenCache: false })
    const t = now()
    expect(await verdict(strict, await hsToken({ iat: t + 3 }))).toBe('accepted')
    expect(await verdict(strict, await hsToken({ iat: t + 60 }))).toBe('issued_in_future')
    expect(await verdict(strict, await hsToken({ iat: t + 4, exp: t + 2 }))).toBe('invalid_claim')
    const aged = jwt({ secret, issuer: ISS, audience: AUD, maxTokenAge: 60, tokenCache: false })
    expect(await verdict(aged, await hsToken({ iat: t + 60 }))).toBe('issued_in_future')
    expect(await verdict(aged, await hsToken({ iat: t - 120 }))).toBe('too_old')
  })

  it('bounds exp - iat with maxTokenLifetime, and then requires iat', async () => {
    const bounded = jwt({ secret, issuer: ISS, audience: AUD, maxTokenLifetime: 3600, tokenCache: false })
    const t = now()
    expect(await verdict(bounded, await hsToken({ iat: t, exp: t + 3600 }))).toBe('accepted')
    expect(await verdict(bounded, await hsToken({ iat: t, exp: t + 3601 }))).toBe('lifetime_too_long')
    expect(await verdict(bounded, await hsToken({ iat: t - 86_400, exp: t + 60 }))).toBe('lifetime_too_long')
    expect(await verdict(bounded, await hsToken({ iat: undefined }))).toBe('missing_claim')
  })

  it.each([
    [{ maxTokenLifetime: 0 }, /maxTokenLifetime is a positive number/],
    [{ maxTokenLifetime: -60 }, /maxTokenLifetime is a positive number/],
    [{ maxTokenLifetime: Number.NaN }, /maxTokenLifetime is a positive number/],
    [{ maxTokenLifetime: '1h' }, /maxTokenLifetime is a positive number/],
    [{ maxTokenLifetime: 60, dangerouslyAllowNoExpiry: true }, /maxTokenLifetime bounds exp - iat/],
    [{ maxTokenLifeTime: 60 }, /unknown option "maxTokenLifeTime"/],
  ])('refuses %j at build time', (extra, message) => {
    expect(() => jwt({ secret, issuer: ISS, audience: AUD, ...(extra as object) })).toThrow(TypeError)
    expect(() => jwt({ secret, issuer: ISS, audience: AUD, ...(extra as object) })).toThrow(message)
  })
})

describe('jwt() claim types', () => {
  const guard = jwt({ secret, issuer: ISS, audience: AUD, tokenCache: false })

  it.each([
    ['a numeric sub', { sub: 42 }],
    ['an empty sub', { sub: '' }],
    ['a numeric client_id', { client_id: 7 }],
    ['an object azp', { azp: { id: 'x' } }],
    ['a scope that is an array', { scope: ['admin'] }],
    ['an aud array holding a number', { aud: [AUD, 5] }],
    ['an scp that is a number', { scp: 5 }],
    ['an scp array holding an object', { scp: ['a', {}] }],
    ['roles that are an object', { roles: { admin: true } }],
    ['roles holding a number', { roles: ['admin', 7] }],
    ['a null exp', { exp: null }],
    ['an nbf that is a string', { nbf: String(now()) }],
  ])('refuses %s, required or not', async (_name, extra) => {
    expect(await verdict(guard, await hsToken(extra))).toBe('invalid_claim')
  })

  it('refuses a jti that is not a string instead of skipping the revocation store', async () => {
    const revocation = memoryRevocationStore()
    revocation.revoke('12345', now() + 600)
    const asked: unknown[] = []
    const guarded = jwt({
      secret,
      issuer: ISS,
      audience: AUD,
      revocation: {
        isRevoked: (jti) => {
          asked.push(jti)
          return revocation.isRevoked(jti)
        },
        revoke: () => {},
      },
      requiredClaims: ['jti'],
    })
    expect(await verdict(guarded, await hsToken({ jti: 12_345 }))).toBe('invalid_claim')
    expect(await verdict(guarded, await hsToken({ jti: ['12345'] }))).toBe('invalid_claim')
    expect(asked).toEqual([])
    expect(await verdict(guarded, await hsToken({ jti: '12345' }))).toBe('revoked')
  })

  it('checks the types of iss and aud even when any issuer and audience are allowed', async () => {
    const open = jwt({ secret, dangerouslyAllowAnyIssuer: true, dangerouslyAllowAnyAudience: true })
    expect(await verdict(open, await hsToken({ iss: 'https://other/', aud: ['x', 'y'] }))).toBe('accepted')
    expect(await verdict(open, await hsToken({ iss: { $ne: '' } }))).toBe('invalid_claim')
    expect(await verdict(open, await hsToken({ aud: 5 }))).toBe('invalid_claim')
  })

  it('checks roles where rolesClaim points, and scp as a string or an array of strings', async () => {
    const deep = jwt({
      secret,
      issuer: ISS,
      audience: AUD,
      rolesClaim: 'realm_access.roles',
      tokenCache: false,
    })
    expect(await verdict(deep, await hsToken({ realm_access: { roles: ['admin'] }, scp: 'a b' }))).toBe(
      'accepted',
    )
    expect(await verdict(deep, await hsToken({ realm_access: { roles: 'admin' } }))).toBe('accepted')
    expect(await verdict(deep, await hsToken({ realm_access: { roles: [1] } }))).toBe('invalid_claim')
  })
})

import { randomBytes } from 'node:crypto'
import {
  anyOf,
  apiKey,
  type CredentialGuard,
  generateApiKey,
  type JwtOptions,
  jwt,
  type RevocationStore,
  redisRevocationStore,
} from '@apiward/auth'
import { defineGuard, type SecurityEvent, securityEvents } from '@apiward/core'
import { Forbidden } from '@apiward/errors'
import { SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { context, denial, outcome, type TestContext, withToken } from './support.js'

const ISS = 'https://id.example.test/'
const AUD = 'api'
const secret = randomBytes(32)
const now = () => Math.floor(Date.now() / 1000)
const hsToken = (claims: Record<string, unknown> = {}, key: Uint8Array = secret) =>
  new SignJWT({ iss: ISS, aud: AUD, sub: 'alice', iat: now(), exp: now() + 600, jti: 'j1', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(key)
const guardWith = (options: Partial<JwtOptions>) => jwt({ secret, issuer: ISS, audience: AUD, ...options })
const later = <T>(value: T, ms = 5) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms))
const failLater = (err: unknown, ms = 5) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(err), ms))
const of = (ctx: TestContext, type: string) => ctx.seen.filter((e) => e.type === type)

// A callback's promise that nobody handles would end the process on Node 20: record every one.
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 30))
  expect(unhandled).toEqual([])
})

describe('jwt() validate', () => {
  it('accepts a token only when validate answers true, awaiting a promise', async () => {
    const answers: unknown[] = [true, later(true), false, later(false), undefined, later(undefined), 1, 'yes']
    const verdicts = []
    for (const answer of answers) {
      const guard = guardWith({ validate: () => answer as boolean })
      const ctx = withToken(await hsToken())
      const err = await outcome(guard, ctx)
      verdicts.push(
        err === undefined ? 'accepted' : [err.status, err.code, of(ctx, 'auth.failure')[0]?.reason],
      )
    }
    const refused = [401, 'auth.invalid_token', 'rejected_by_validate']
    expect(verdicts).toEqual(['accepted', 'accepted', refused, refused, refused, refused, refused, refused])
  })

  it('reports an answer of validate that is not a boolean as auth.error', async () => {
    const ctx = withToken(await hsToken())
    await outcome(guardWith({ validate: () => undefined as never }), ctx)
    expect(of(ctx, 'auth.error')).toMatchObject([
      { severity: 'error', code: 'auth.invalid_token', credential: 'jwt', callback: 'validate' },
    ])
    expect(String(of(ctx, 'auth.error')[0]!.detail)).toMatch(/validate answered undefined, not true or false/)
  })

  it('refuses with the usual 401 and emits auth.error when validate throws or rejects, on cache hits too', async () => {
    const failure = new Error('tenant service timed out')
    for (const validate of [
      () => {
        throw failure
      },
      () => failLater(failure),
    ]) {
      const guard = guardWith({ validate })
      const token = await hsToken()
      for (let i = 0; i < 2; i++) {
        const ctx = withToken(token)
        const err = await denial(guard, ctx)
        expect([err.status, err.code, err.detail]).toEqual([
          401,
          'auth.invalid_token',
          'The access token is invalid.',
        ])
        expect(of(ctx, 'auth.error')).toMatchObject([{ callback: 'validate', code: 'auth.invalid_token' }])
        expect(of(ctx, 'auth.error')[0]!.error).toBe(failure)
        expect(of(ctx, 'auth.failure')[0]?.reason).toBe('rejected_by_validate')
        expect(ctx.principal).toBeUndefined()
      }
    }
  })
})

describe('jwt() isRevoked', () => {
  it('lets a token through only when isRevoked answers false, awaiting a promise', async () => {
    const answers: unknown[] = [false, later(false), true, later(true), undefined, later(null), 0, 'no']
    const verdicts = []
    for (const answer of answers) {
      const ctx = withToken(await hsToken())
      const err = await outcome(guardWith({ isRevoked: () => answer as boolean }), ctx)
      verdicts.push(err === undefined ? 'accepted' : [err.status, of(ctx, 'auth.failure')[0]?.reason])
    }
    const revoked = [401, 'revoked']
    expect(verdicts).toEqual(['accepted', 'accepted', revoked, revoked, revoked, revoked, revoked, revoked])
  })

  it('answers 503 auth.unavailable with Retry-After when isRevoked throws or rejects', async () => {
    const failure = new Error('connect ECONNREFUSED 10.0.0.9:6379')
    for (const isRevoked of [
      () => {
        throw failure
      },
      () => failLater(failure),
    ]) {
      const ctx = withToken(await hsToken())
      const err = await denial(guardWith({ isRevoked }), ctx)
      expect([err.status, err.code, err.headers?.['Retry-After']]).toEqual([503, 'auth.unavailable', '1'])
      expect(err.detail).toBe('The access token cannot be checked right now. Retry later.')
      expect(err.cause).toBe(failure)
      expect(of(ctx, 'auth.error')).toMatchObject([
        { severity: 'error', code: 'auth.unavailable', credential: 'jwt', callback: 'isRevoked' },
      ])
      expect(of(ctx, 'auth.error')[0]!.error).toBe(failure)
      expect(of(ctx, 'auth.failure')).toEqual([])
      expect(ctx.principal).toBeUndefined()
    }
  })

  it('answers an ApiError thrown by isRevoked as it is', async () => {
    const suspended = new Forbidden({ code: 'tenant.suspended' })
    const err = await denial(guardWith({ isRevoked: () => failLater(suspended) }), withToken(await hsToken()))
    expect(err).toBe(suspended)
  })
})

describe('jwt() with a revocation store of your own', () => {
  const store = (isRevoked: RevocationStore['isRevoked']): RevocationStore => ({
    isRevoked,
    revoke: () => {},
  })

  it('reads its answers like those of isRevoked: only false lets the token through', async () => {
    const failure = new Error('store down')
    const cases: Array<[RevocationStore['isRevoked'], unknown]> = [
      [() => false, 'accepted'],
      [() => later(false), 'accepted'],
      [() => later(undefined as never), 401],
      [() => 'false' as never, 401],
      [
        () => {
          throw failure
        },
        503,
      ],
      [() => failLater(failure), 503],
    ]
    for (const [isRevoked, expected] of cases) {
      const ctx = withToken(await hsToken())
      const err = await outcome(guardWith({ revocation: store(isRevoked) }), ctx)
      expect(err === undefined ? 'accepted' : err.status).toBe(expected)
      if (expected === 503) {
        expect(of(ctx, 'auth.error')[0]).toMatchObject({
          code: 'auth.unavailable',
          callback: 'revocation.isRevoked',
        })
      }
    }
  })

  it('refuses a token isRevoked calls revoked while the store is still answering, and handles its late failure', async () => {
    const ctx = withToken(await hsToken())
    const err = await denial(
      guardWith({ revocation: store(() => failLater(new Error('late'), 10)), isRevoked: () => true }),
      ctx,
    )
    expect([err.status, of(ctx, 'auth.failure')[0]?.reason]).toEqual([401, 'revoked'])
    await new Promise((resolve) => setTimeout(resolve, 30))
  })

  it('prefers a definite revoked over a failed check when both are asynchronous', async () => {
    const ctx = withToken(await hsToken())
    const err = await denial(
      guardWith({ revocation: store(() => failLater(new Error('down'))), isRevoked: () => later(true, 10) }),
      ctx,
    )
    expect([err.status, of(ctx, 'auth.failure')[0]?.reason]).toEqual([401, 'revoked'])
  })
})

describe('jwt() issuer resolver', () => {
  const other = randomBytes(32)
  const tenantToken = () => hsToken({ iss: 'https://tenant-1/' }, other)

  it('awaits an asynchronous resolver once for the tokens that wait on the same issuer', async () => {
    const asked: string[] = []
    const guard = jwt({
      issuers: (iss) => {
        asked.push(iss)
        return later({ secret: other }, 20)
      },
      audience: AUD,
      tokenCache: false,
    })
    const ctxs = await Promise.all(Array.from({ length: 5 }, async () => withToken(await tenantToken())))
    expect(await Promise.all(ctxs.map((ctx) => outcome(guard, ctx)))).toEqual(Array(5).fill(undefined))
    expect(ctxs.map((ctx) => ctx.principal?.id)).toEqual(Array(5).fill('alice'))
    expect(await outcome(guard, withToken(await tenantToken()))).toBeUndefined()
    expect(asked).toEqual(['https://tenant-1/'])
  })

  it('answers 503 while the resolver throws or rejects, and asks it again next time', async () => {
    const failure = new Error('tenant database unreachable')
    let mode: 'throws' | 'rejects' | 'up' = 'throws'
    let calls = 0
    const guard = jwt({
      issuers: () => {
        calls++
        if (mode === 'throws') throw failure
        return mode === 'rejects' ? failLater(failure) : { secret: other }
      },
      audience: AUD,
    })
    for (const next of ['rejects', 'up'] as const) {
      const ctx = withToken(await tenantToken())
      const err = await denial(guard, ctx)
      expect([err.status, err.code, err.headers?.['Retry-After']]).toEqual([503, 'auth.unavailable', '1'])
      expect(of(ctx, 'auth.error')).toMatchObject([{ code: 'auth.unavailable', callback: 'issuers' }])
      expect(of(ctx, 'auth.error')[0]!.error).toBe(failure)
      mode = next
    }
    expect(await outcome(guard, withToken(await tenantToken()))).toBeUndefined()
    expect(calls).toBe(3)
  })

  it('refuses the issuer as misconfigured, and reports it, when the resolver answers something that is not key options', async () => {
    for (const answer of [5, null, { jwksUri: 'http://keys.example.com/jwks' }, later('secret')]) {
      const guard = jwt({ issuers: () => answer as never, audience: AUD })
      const ctx = withToken(await tenantToken())
      const err = await denial(guard, ctx)
      expect([err.status, of(ctx, 'auth.failure')[0]?.reason]).toEqual([401, 'misconfigured'])
      expect(of(ctx, 'auth.error')).toMatchObject([{ code: 'auth.invalid_token', callback: 'issuers' }])
    }
  })
})

describe('anyOf() members', () => {
  const member = (hasCredential: () => unknown): CredentialGuard =>
    Object.assign(
      defineGuard(() => {}, { guardName: 'session' }),
      { hasCredential: hasCredential as () => boolean },
    )

  it('refuses the request and reports a member whose hasCredential throws or answers a promise', async () => {
    for (const hasCredential of [
      () => {
        throw new Error('cookie parser failed')
      },
      async () => true,
      () => 'yes',
    ]) {
      for (const required of [true, false]) {
        const ctx = context()
        const err = await denial(anyOf(member(hasCredential), { required }), ctx)
        expect([err.status, err.code]).toEqual([401, 'auth.missing_credentials'])
        expect(of(ctx, 'auth.error')).toMatchObject([
          { severity: 'error', callback: 'session.hasCredential' },
        ])
        expect(ctx.principal).toBeUndefined()
      }
    }
  })

  it('lets an enclosing anyOf() hand the decision to the member that answered oddly', async () => {
    const ctx = context()
    const err = await denial(anyOf(anyOf(member(async () => false)), { required: false }), ctx)
    expect(err.code).toBe('auth.missing_credentials')
  })
})

describe('apiKey() lookup', () => {
  const issued = generateApiKey({ prefix: 'ak_live' })
  const stolen = generateApiKey({ prefix: 'ak_live' })
  /** A minimal thenable, as some database clients return: its `then` answers nothing. */
  const thenable = (value: unknown) => ({
    // biome-ignore lint/suspicious/noThenProperty: the point is a bare thenable
    then(resolve: (v: unknown) => void) {
      setTimeout(() => resolve(value), 5)
    },
  })
  // `stolen`'s record holds another key's hash: only the hash comparison can refuse it.
  const keys = apiKey({
    prefix: 'ak_live',
    lookup: (id) => thenable({ hash: issued.hash, owner: id === issued.id ? 'billing' : 'other' }) as never,
  })

  it('awaits a lookup that answers with a bare thenable before it allows or refuses', async () => {
    const good = context({ headers: { 'x-api-key': issued.key } })
    expect(await outcome(keys, good)).toBeUndefined()
    expect(good.principal?.id).toBe('billing')
    const bad = context({ headers: { 'x-api-key': stolen.key } })
    expect((await denial(keys, bad)).code).toBe('auth.invalid_api_key')
    expect(bad.seen.find((e) => e.type === 'auth.failure')?.reason).toBe('wrong_secret')
    expect(bad.principal).toBeUndefined()
  })
})

describe('redisRevocationStore() onError', () => {
  const down = { exists: () => Promise.reject(new Error('connect ECONNREFUSED')) }
  const seen: SecurityEvent[] = []
  const off = securityEvents.on((e) => seen.push(e))
  afterAll(off)

  it('keeps the outage policy when onError throws or rejects, and reports it as auth.error', async () => {
    const hookFailure = new Error('metrics exporter down')
    for (const onError of [
      () => {
        throw hookFailure
      },
      () => failLater(hookFailure),
    ]) {
      seen.length = 0
      const open = redisRevocationStore({ client: down, onStoreFailure: 'fail-open', onError })
      expect(await open.isRevoked('j1')).toBe(false)
      const closed = redisRevocationStore({ client: down, onStoreFailure: 'fail-closed', onError })
      await expect(closed.isRevoked('j1')).rejects.toMatchObject({
        status: 503,
        code: 'auth.revocation_unavailable',
      })
      await new Promise((resolve) => setTimeout(resolve, 20))
      const reported = seen.filter((e) => e.type === 'auth.error')
      expect(reported).toMatchObject([
        { callback: 'redisRevocationStore.onError', code: 'auth.revocation_unavailable' },
        { callback: 'redisRevocationStore.onError', code: 'auth.revocation_unavailable' },
      ])
      expect(reported[0]!.error).toBe(hookFailure)
    }
  })
})

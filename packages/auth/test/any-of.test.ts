import { anyOf, apiKey, type CredentialGuard, generateApiKey, isCredentialGuard } from '@apiward/auth'
import { compose, defineGuard, type SecurityContext, type SecurityRequest } from '@apiward/core'
import { Unauthorized } from '@apiward/errors'
import { describe, expect, it } from 'vitest'
import { denial, context as testContext } from './support.js'

const context = (headers: Record<string, string> = {}) => testContext({ headers, ip: '203.0.113.7' })

/** A credential guard over `X-Token`: `good` authenticates as `token-user`, anything else is refused. */
function tokenGuard(options: { async?: boolean; challenge?: string; needsBody?: boolean } = {}) {
  const calls: string[] = []
  const decide = (ctx: SecurityContext) => {
    const value = ctx.req.header('x-token')!
    calls.push(value)
    if (value !== 'good') throw new Unauthorized({ code: 'auth.invalid_token' })
    ctx.principal = { id: 'token-user', kind: 'user', scopes: [], roles: [], claims: {}, credential: 'jwt' }
  }
  const guard: CredentialGuard = Object.assign(
    defineGuard(options.async ? async (ctx) => decide(ctx) : decide, {
      guardName: 'token',
      needsBody: options.needsBody ?? false,
    }),
    {
      hasCredential: (req: SecurityRequest) => req.header('x-token') !== undefined,
      challenge: options.challenge ?? 'Bearer realm="api"',
    },
  )
  return Object.assign(guard, { calls })
}

const key = generateApiKey({ prefix: 'ak_live' })
const keys = apiKey({ prefix: 'ak_live', keys: [{ id: key.id, hash: key.hash, owner: 'svc' }] })

describe('anyOf()', () => {
  it('lets the first guard whose credential is present decide', () => {
    const token = tokenGuard()
    const either = anyOf(token, keys)
    const byKey = context({ 'X-API-Key': key.key })
    expect(either(byKey)).toBeUndefined()
    expect(byKey.principal?.id).toBe('svc')
    expect(token.calls).toEqual([])
    const byToken = context({ 'X-Token': 'good' })
    expect(either(byToken)).toBeUndefined()
    expect(byToken.principal?.id).toBe('token-user')
  })

  it('never falls through to the next guard when a present credential is invalid', async () => {
    const token = tokenGuard()
    const tokenFirst = await denial(
      anyOf(token, keys),
      context({ 'X-Token': 'forged', 'X-API-Key': key.key }),
    )
    expect(tokenFirst.code).toBe('auth.invalid_token')
    const keysFirst = anyOf(keys, token)
    const ctx = context({ 'X-API-Key': 'ak_live_wrong', 'X-Token': 'good' })
    expect((await denial(keysFirst, ctx)).code).toBe('auth.invalid_api_key')
    expect(ctx.principal).toBeUndefined()
    expect(token.calls).toEqual(['forged'])
  })

  it('refuses a present but invalid credential even when its guard would let anonymous requests pass', async () => {
    const optional = apiKey({ prefix: 'ak_live', keys: [{ id: key.id, hash: key.hash }], required: false })
    const err = await denial(anyOf(optional, tokenGuard()), context({ 'X-API-Key': '', 'X-Token': 'good' }))
    expect(err.code).toBe('auth.invalid_api_key')
  })

  it('answers a request without credentials with 401 and the challenge of every member', async () => {
    const token = tokenGuard()
    const ctx = context({ Authorization: 'Basic dXNlcjpwYXNz' })
    const err = await denial(anyOf(token, keys), ctx)
    expect(err.status).toBe(401)
    expect(err.code).toBe('auth.missing_credentials')
    expect(err.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="api", ApiKey header="X-API-Key"' })
    expect(token.calls).toEqual([])
    expect(ctx.seen.map((e) => [e.type, e.code])).toEqual([['auth.failure', 'auth.missing_credentials']])
  })

  it('sends each distinct challenge once and none when no member has one', async () => {
    const twice = anyOf(tokenGuard(), tokenGuard(), keys)
    expect(twice.challenge).toBe('Bearer realm="api", ApiKey header="X-API-Key"')
    const silent = anyOf(tokenGuard({ challenge: '' }))
    expect(silent.challenge).toBeUndefined()
    expect((await denial(silent, context())).headers).toBeUndefined()
  })

  it('stays synchronous for synchronous members and waits for asynchronous ones', async () => {
    const sync = anyOf(tokenGuard(), keys)
    expect(sync(context({ 'X-Token': 'good' }))).toBeUndefined()
    const async = anyOf(tokenGuard({ async: true }), keys)
    const ctx = context({ 'X-Token': 'good' })
    const result = async(ctx)
    expect(result).toBeInstanceOf(Promise)
    await result
    expect(ctx.principal?.id).toBe('token-user')
    await expect(async(context({ 'X-Token': 'bad' }))).rejects.toMatchObject({ code: 'auth.invalid_token' })
  })

  it('is a credential guard itself, so it nests and composes', async () => {
    const inner = anyOf(tokenGuard())
    const outer = anyOf(inner, keys)
    expect(isCredentialGuard(outer)).toBe(true)
    expect(outer.hasCredential(context({ 'X-Token': 'x' }).req)).toBe(true)
    expect(outer.hasCredential(context({ 'X-API-Key': 'x' }).req)).toBe(true)
    expect(outer.hasCredential(context({ Authorization: 'Bearer x' }).req)).toBe(false)
    expect(outer.guardName).toBe('anyOf(anyOf(token), apiKey)')
    const composed = compose(
      outer,
      defineGuard(() => {}, { guardName: 'after' }),
    )
    const ctx = context({ 'X-API-Key': key.key })
    composed(ctx)
    expect(ctx.principal?.id).toBe('svc')
    expect((await denial(composed, context())).code).toBe('auth.missing_credentials')
  })

  it('needs the body when any member does', () => {
    expect(anyOf(tokenGuard(), keys).needsBody).toBe(false)
    expect(anyOf(keys, tokenGuard({ needsBody: true })).needsBody).toBe(true)
  })

  it('refuses at build time what cannot tell whether its credential was sent', () => {
    expect(() => anyOf()).toThrow(/anyOf\(\) needs at least one authentication guard/)
    const plain = defineGuard(() => {}, { guardName: 'scopes' })
    expect(() => anyOf(keys, plain as CredentialGuard)).toThrow(
      /anyOf\(\): argument 2 \(scopes\) does not authenticate a credential/,
    )
    expect(() => anyOf(compose(keys) as CredentialGuard, compose(keys, plain) as CredentialGuard)).toThrow(
      TypeError,
    )
    expect(() => anyOf(undefined as unknown as CredentialGuard)).toThrow(
      /argument 1 is undefined, not a guard\. Did you forget to call the factory\?/,
    )
  })
})

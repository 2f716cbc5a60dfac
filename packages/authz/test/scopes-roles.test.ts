import { describe, expect, it } from 'vitest'
import { roles, scopes } from '../src/index.js'
import { context, denial, outcome, user } from './support.js'

describe('scopes()', () => {
  it('allows a principal holding every required scope', async () => {
    const ctx = context({ principal: user('alice', { scopes: ['notes:read', 'notes:write'] }) })
    expect(await outcome(scopes('notes:read', 'notes:write'), ctx)).toBeUndefined()
  })

  it('matches scopes exactly: notes:readwrite never satisfies notes:read', async () => {
    const err = await denial(
      scopes('notes:read'),
      context({ principal: user('a', { scopes: ['notes:readwrite', 'NOTES:READ', 'notes:rea'] }) }),
    )
    expect(err.status).toBe(403)
    expect(err.code).toBe('authz.insufficient_scope')
  })

  it('answers a missing scope with the RFC 6750 insufficient_scope challenge naming what is needed', async () => {
    const err = await denial(
      scopes('notes:read', 'notes:write'),
      context({ principal: user('a', { scopes: ['notes:read'] }), headers: { authorization: 'Bearer x' } }),
    )
    expect(err.headers?.['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="notes:read notes:write"',
    )
  })

  it('answers in the DPoP scheme and the configured realm when the token came as DPoP', async () => {
    const err = await denial(
      scopes('notes:read', { realm: 'notes' }),
      context({ principal: user('a'), headers: { authorization: 'DPoP eyJ' } }),
    )
    expect(err.headers?.['WWW-Authenticate']).toBe(
      'DPoP realm="notes", error="insufficient_scope", scope="notes:read"',
    )
  })

  it('puts no bearer challenge on the 403 of an API key, which has no scope to ask for', async () => {
    const err = await denial(
      scopes('notes:read'),
      context({ principal: user('svc', { credential: 'api_key' }) }),
    )
    expect(err.code).toBe('authz.insufficient_scope')
    expect(err.headers?.['WWW-Authenticate']).toBeUndefined()
  })

  it("allows with one of the scopes in mode 'any' and refuses with none", async () => {
    const guard = scopes('notes:read', 'notes:admin', { mode: 'any' })
    expect(
      await outcome(guard, context({ principal: user('a', { scopes: ['notes:admin'] }) })),
    ).toBeUndefined()
    expect((await denial(guard, context({ principal: user('a', { scopes: ['other'] }) }))).status).toBe(403)
  })

  it('answers 401 with the usual challenge when no authentication guard set a principal', async () => {
    const err = await denial(scopes('notes:read'), context())
    expect(err.status).toBe(401)
    expect(err.code).toBe('auth.unauthorized')
    expect(err.headers?.['WWW-Authenticate']).toBe('Bearer realm="api"')
  })

  it('emits authz.denied with the missing scopes', async () => {
    const ctx = context({ principal: user('a', { scopes: ['notes:read'] }) })
    await denial(scopes('notes:read', 'notes:write'), ctx)
    expect(ctx.seen).toEqual([
      expect.objectContaining({
        type: 'authz.denied',
        guard: 'scopes',
        reason: 'insufficient_scope',
        missing: ['notes:write'],
        principal: 'a',
      }),
    ])
  })

  it('refuses empty lists, non-strings, scopes with spaces and unknown options at startup', () => {
    expect(() => (scopes as (...a: unknown[]) => unknown)()).toThrow(/scopes\(\): name at least one scope/)
    expect(() => (scopes as (...a: unknown[]) => unknown)({ mode: 'any' })).toThrow(/at least one scope/)
    expect(() => scopes('notes:read notes:write')).toThrow(TypeError)
    expect(() => scopes('')).toThrow(/non-empty string without spaces/)
    expect(() => (scopes as (...a: unknown[]) => unknown)('a', 42)).toThrow(/got 42/)
    expect(() => scopes('a', { mode: 'some' as 'any' })).toThrow(/mode must be 'all' or 'any'/)
    expect(() => scopes('a', { modes: 'any' } as object)).toThrow(
      /unknown option "modes"; did you mean "mode"\?/,
    )
    expect(() => scopes('a', { realm: 'bad\n' })).toThrow(/realm/)
  })
})

describe('roles()', () => {
  it('allows a principal holding the role and refuses one whose role only looks like it', async () => {
    expect(
      await outcome(roles('admin'), context({ principal: user('a', { roles: ['admin'] }) })),
    ).toBeUndefined()
    const err = await denial(
      roles('admin'),
      context({ principal: user('a', { roles: ['administrator', 'Admin', 'admins'] }) }),
    )
    expect(err.status).toBe(403)
    expect(err.code).toBe('authz.forbidden')
    expect(err.headers).toBeUndefined()
  })

  it("requires every role by default and one of them in mode 'any'", async () => {
    const p = user('a', { roles: ['editor'] })
    expect((await denial(roles('editor', 'admin'), context({ principal: p }))).code).toBe('authz.forbidden')
    expect(
      await outcome(roles('editor', 'admin', { mode: 'any' }), context({ principal: p })),
    ).toBeUndefined()
  })

  it('answers 401 without a principal, so a misordered stack never allows', async () => {
    const err = await denial(roles('admin'), context())
    expect(err.status).toBe(401)
    expect(err.headers?.['WWW-Authenticate']).toBe('Bearer realm="api"')
  })

  it('emits authz.denied with the missing roles', async () => {
    const ctx = context({ principal: user('a', { roles: ['editor'] }) })
    await denial(roles('editor', 'admin'), ctx)
    expect(ctx.seen[0]).toMatchObject({
      type: 'authz.denied',
      guard: 'roles',
      reason: 'missing_role',
      missing: ['admin'],
    })
  })

  it('refuses empty lists, non-strings and roles with spaces at startup', () => {
    expect(() => (roles as (...a: unknown[]) => unknown)()).toThrow(/roles\(\): name at least one role/)
    expect(() => roles('super admin')).toThrow(/without spaces/)
    expect(() => (roles as (...a: unknown[]) => unknown)(null)).toThrow(TypeError)
    expect(() => roles('a', { any: true } as object)).toThrow(/did you mean "mode: 'any'"/)
  })

  it('says what it decides for route inventories', () => {
    const guard = roles('admin', { mode: 'any' })
    expect(guard.kind).toBe('authorization')
    expect(guard.settings).toEqual({ roles: ['admin'], mode: 'any' })
  })
})

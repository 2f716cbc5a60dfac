import { describe, expect, it } from 'vitest'
import { claims } from '../src/index.js'
import { context, denial, outcome, user } from './support.js'

const withClaims = (claimSet: Record<string, unknown>) =>
  context({ principal: user('alice', { claims: claimSet }) })

describe('claims()', () => {
  it('allows when a claim equals the expected value and refuses another value or type', async () => {
    const guard = claims({ tenant: 'acme', level: 3, verified: true })
    expect(await outcome(guard, withClaims({ tenant: 'acme', level: 3, verified: true }))).toBeUndefined()
    expect((await denial(guard, withClaims({ tenant: 'acme', level: '3', verified: true }))).code).toBe(
      'authz.forbidden',
    )
    expect((await denial(guard, withClaims({ tenant: 'ACME', level: 3, verified: true }))).status).toBe(403)
    expect((await denial(claims({ tenant: { equals: 'acme' } }), withClaims({}))).status).toBe(403)
  })

  it('checks inclusion in arrays and in space-separated strings', async () => {
    const guard = claims({ permissions: { includes: ['read:notes', 'write:notes'] } })
    expect(
      await outcome(guard, withClaims({ permissions: ['write:notes', 'read:notes', 'x'] })),
    ).toBeUndefined()
    expect(await outcome(guard, withClaims({ permissions: 'read:notes write:notes' }))).toBeUndefined()
    expect((await denial(guard, withClaims({ permissions: 'read:notes write:notesX' }))).status).toBe(403)
    expect((await denial(guard, withClaims({ permissions: { 'read:notes': true } }))).status).toBe(403)
    const any = claims({ groups: { includesAny: ['eu', 'us'] } })
    expect(await outcome(any, withClaims({ groups: ['us'] }))).toBeUndefined()
    expect((await denial(any, withClaims({ groups: ['apac'] }))).status).toBe(403)
  })

  it('reads nested claims by dotted path, and a claim whose own name has a dot first', async () => {
    const guard = claims({ 'org.id': 'o1' })
    expect(await outcome(guard, withClaims({ org: { id: 'o1' } }))).toBeUndefined()
    expect(await outcome(guard, withClaims({ 'org.id': 'o1', org: { id: 'o2' } }))).toBeUndefined()
    expect((await denial(guard, withClaims({ org: { id: 'o2' } }))).status).toBe(403)
  })

  it('awaits async predicates and allows only on true', async () => {
    const guard = claims({ tenant: async (value) => value === 'acme' })
    expect(await outcome(guard, withClaims({ tenant: 'acme' }))).toBeUndefined()
    expect((await denial(guard, withClaims({ tenant: 'other' }))).status).toBe(403)
    const truthy = claims({ tenant: () => 'yes' as unknown as boolean })
    expect((await denial(truthy, withClaims({ tenant: 'acme' }))).status).toBe(403)
  })

  it('gives a predicate the whole claim set and the request', async () => {
    const guard = claims({
      tenant: (value, all, ctx) => value === all.home && ctx.req.header('x-tenant') === value,
    })
    const ctx = context({
      principal: user('a', { claims: { tenant: 't', home: 't' } }),
      headers: { 'x-tenant': 't' },
    })
    expect(await outcome(guard, ctx)).toBeUndefined()
  })

  it('refuses when a predicate throws or rejects, with an authz.error event', async () => {
    for (const check of [
      () => {
        throw new Error('directory down')
      },
      async () => {
        throw new Error('directory down')
      },
    ]) {
      const ctx = withClaims({ tenant: 'acme' })
      const err = await denial(claims({ tenant: check }), ctx)
      expect(err.status).toBe(403)
      expect(ctx.seen.map((e) => e.type)).toEqual(['authz.error', 'authz.denied'])
      expect(ctx.seen[0]).toMatchObject({
        guard: 'claims',
        callback: 'claims.tenant',
        detail: 'directory down',
      })
    }
  })

  it('stays synchronous when every check is', () => {
    const result = claims({ tenant: 'acme', x: () => true })(withClaims({ tenant: 'acme', x: 1 }))
    expect(result).toBeUndefined()
  })

  it('answers 401 without a principal', async () => {
    expect((await denial(claims({ tenant: 'acme' }), context())).status).toBe(401)
  })

  it('refuses checks it cannot read at startup', () => {
    expect(() => claims({})).toThrow(/checks must be an object of claim paths/)
    expect(() => claims({ tenant: ['a'] } as never)).toThrow(/'tenant' must be a value to equal/)
    expect(() => claims({ perms: { includes: [] } })).toThrow(/includes must be a non-empty array/)
    expect(() => claims({ perms: { includes: ['a b'] } })).toThrow(/without spaces/)
    expect(() => claims({ perms: { contains: ['a'] } } as never)).toThrow(TypeError)
    expect(() => claims({ a: 'b' }, { relm: 'x' } as object)).toThrow(/did you mean "realm"/)
  })
})

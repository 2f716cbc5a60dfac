import { describe, expect, it } from 'vitest'
import { owner } from '../src/index.js'
import { context, denial, outcome, user } from './support.js'

interface Note {
  id: string
  ownerId: string
  sharedWith?: string[]
}

const notes = new Map<string, Note>([
  ['n1', { id: 'n1', ownerId: 'alice' }],
  ['n2', { id: 'n2', ownerId: 'bob', sharedWith: ['carol'] }],
])

const byQuery = (ctx: { req: { query: Readonly<Record<string, unknown>> } }) =>
  notes.get(String(ctx.req.query.id))

describe('owner()', () => {
  it("hands the owner's resource to the handler through typed state", async () => {
    const note = owner({ load: byQuery, ownerOf: (n) => n.ownerId })
    const ctx = context({ principal: user('alice'), query: { id: 'n1' } })
    expect(await outcome(note, ctx)).toBeUndefined()
    expect(note.resource(ctx)).toEqual({ id: 'n1', ownerId: 'alice' })
    expect(ctx.get(note.key)?.ownerId).toBe('alice')
  })

  it('answers a missing resource and a resource of another user with the same bare 404', async () => {
    const note = owner({ load: byQuery, ownerOf: (n) => n.ownerId })
    const missing = await denial(note, context({ principal: user('bob'), query: { id: 'nope' } }))
    const ctx = context({ principal: user('bob'), query: { id: 'n1' } })
    const foreign = await denial(note, ctx)
    for (const err of [missing, foreign]) {
      expect(err.status).toBe(404)
      expect(err.code).toBe('route.not_found')
      expect(err.detail).toBe(missing.detail)
      expect(err.headers).toBeUndefined()
    }
    expect(note.resource(ctx)).toBeUndefined()
  })

  it('answers 403 for another user only with deny: 403, and 404 still for a missing one', async () => {
    const note = owner({ load: byQuery, ownerOf: (n) => n.ownerId, deny: 403 })
    expect((await denial(note, context({ principal: user('bob'), query: { id: 'n1' } }))).code).toBe(
      'authz.forbidden',
    )
    expect((await denial(note, context({ principal: user('bob'), query: { id: 'x' } }))).status).toBe(404)
  })

  it('lets an allow predicate and bypass roles reach resources they do not own', async () => {
    const note = owner({
      load: async (ctx) => byQuery(ctx),
      ownerOf: (n) => n.ownerId,
      allow: async (p, n) => n.sharedWith?.includes(p.id) === true,
      bypassRoles: ['support'],
    })
    expect(await outcome(note, context({ principal: user('carol'), query: { id: 'n2' } }))).toBeUndefined()
    expect((await denial(note, context({ principal: user('carol'), query: { id: 'n1' } }))).status).toBe(404)
    expect(
      await outcome(note, context({ principal: user('sam', { roles: ['support'] }), query: { id: 'n1' } })),
    ).toBeUndefined()
    expect(
      (await denial(note, context({ principal: user('sam', { roles: ['support'] }), query: { id: 'zz' } })))
        .status,
    ).toBe(404)
  })

  it('answers 500 and reports when load or a callback fails, never allowing', async () => {
    for (const options of [
      { load: () => Promise.reject(new Error('db down')), ownerOf: (n: Note) => n.ownerId },
      {
        load: byQuery,
        ownerOf: (): string => {
          throw new Error('bad record')
        },
      },
      { load: byQuery, allow: () => Promise.reject(new Error('acl down')) },
    ]) {
      const ctx = context({ principal: user('alice'), query: { id: 'n1' } })
      const err = await denial(owner(options as never), ctx)
      expect(err.status).toBe(500)
      expect(err.detail).not.toMatch(/db down|bad record|acl down/)
      expect(ctx.seen[0]).toMatchObject({ type: 'authz.error', guard: 'owner' })
    }
  })

  it('allows only on a true answer of allow', async () => {
    const note = owner({ load: byQuery, allow: () => 1 as unknown as boolean })
    expect((await denial(note, context({ principal: user('alice'), query: { id: 'n1' } }))).status).toBe(404)
  })

  it('answers 401 without a principal and loads nothing', async () => {
    let loads = 0
    const note = owner({ load: () => void loads++, ownerOf: () => 'x' })
    expect((await denial(note, context())).status).toBe(401)
    expect(loads).toBe(0)
  })

  it('refuses incomplete options at startup', () => {
    expect(() => owner({} as never)).toThrow(/load is required/)
    expect(() => owner({ load: byQuery })).toThrow(/say who may reach a resource/)
    expect(() => owner({ load: byQuery, ownerOf: (n) => n.ownerId, deny: 401 as 404 })).toThrow(
      /deny must be 404/,
    )
    expect(() => owner({ load: byQuery, owner: () => 'x' } as never)).toThrow(/did you mean "ownerOf"/)
    expect(() => owner({ load: byQuery, bypassRoles: 'admin' as never })).toThrow(
      /bypassRoles must be an array/,
    )
  })
})

import { describe, expect, it } from 'vitest'
import { fields } from '../src/index.js'
import { context, denial, outcome, user } from './support.js'

const write = {
  user: { title: true, body: true, items: { name: true, qty: true }, meta: { color: true } },
  admin: { ownerId: true, meta: { pinned: true } },
} as const

const read = {
  '*': { id: true, title: true, items: { name: true } },
  admin: { ownerId: true, items: { cost: true } },
} as const

describe('fields() write side', () => {
  it('lets a role write its listed properties at every depth', async () => {
    const body = { title: 't', items: [{ name: 'a', qty: 1 }], meta: { color: 'red' } }
    expect(
      await outcome(fields({ write }), context({ principal: user('a', { roles: ['user'] }), body })),
    ).toBeUndefined()
  })

  it('refuses every mass-assigned property together, by JSON pointer, nested and in arrays', async () => {
    const body = {
      title: 't',
      ownerId: 'mallory',
      isAdmin: true,
      role: 'admin',
      items: [{ name: 'a' }, { name: 'b', price: 0 }],
      meta: { color: 'red', pinned: true, 'a/b': 1 },
    }
    const ctx = context({ principal: user('a', { roles: ['user'] }), body })
    const err = await denial(fields({ write }), ctx)
    expect(err.status).toBe(400)
    expect(err.code).toBe('validation.rejected')
    expect(err.errors?.map((e) => e.pointer)).toEqual([
      '/ownerId',
      '/isAdmin',
      '/role',
      '/items/1/price',
      '/meta/pinned',
      '/meta/a~1b',
    ])
    expect(ctx.seen[0]).toMatchObject({ type: 'authz.denied', guard: 'fields', reason: 'forbidden_property' })
  })

  it('adds up the trees of all the roles of the principal', async () => {
    const body = { title: 't', ownerId: 'bob', meta: { color: 'x', pinned: true } }
    const ctx = context({ principal: user('a', { roles: ['user', 'admin'] }), body })
    expect(await outcome(fields({ write }), ctx)).toBeUndefined()
  })

  it('refuses a __proto__ key in the body like any other unlisted property', async () => {
    const body = JSON.parse('{"title":"t","__proto__":{"isAdmin":true}}')
    const err = await denial(fields({ write }), context({ principal: user('a', { roles: ['user'] }), body }))
    expect(err.errors?.map((e) => e.pointer)).toEqual(['/__proto__'])
  })

  it('lets a principal without a listed role write nothing', async () => {
    const err = await denial(fields({ write }), context({ principal: user('a'), body: { title: 't' } }))
    expect(err.errors).toEqual([
      { pointer: '/title', message: 'This property may not be written.', code: 'not_writable' },
    ])
  })

  it('takes a function of the principal', async () => {
    const tree = { title: true } as const
    const guard = fields({ write: (p) => (p.id === 'alice' ? tree : undefined) })
    expect(await outcome(guard, context({ principal: user('alice'), body: { title: 't' } }))).toBeUndefined()
    expect((await denial(guard, context({ principal: user('bob'), body: { title: 't' } }))).status).toBe(400)
  })

  it('refuses a body that is there but not parsed yet, instead of letting it through unchecked', async () => {
    for (const headers of [{ 'content-length': '27' }, { 'transfer-encoding': 'chunked' }] as Record<
      string,
      string
    >[]) {
      const ctx = context({ principal: user('a', { roles: ['user'] }), headers })
      const err = await denial(fields({ write }), ctx)
      expect(err.status).toBe(500)
      expect(ctx.seen[0]).toMatchObject({ type: 'authz.error', guard: 'fields', callback: 'body' })
    }
    const empty = context({ principal: user('a'), headers: { 'content-length': '0' } })
    expect(await outcome(fields({ write }), empty)).toBeUndefined()
  })

  it('says it needs the body only when it checks writes', () => {
    expect(fields({ write }).needsBody).toBe(true)
    expect(fields({ read }).needsBody).toBe(false)
  })

  it('refuses trees it cannot compile and options it does not know at startup', () => {
    expect(() => fields({})).toThrow(/give write/)
    expect(() => fields({ write: { user: { title: 'yes' } } } as never)).toThrow(/fields\(\): write.user/)
    expect(() => fields({ writable: {} } as never)).toThrow(/did you mean "write"/)
    expect(() => fields({ read: [] } as never)).toThrow(/read must be an object/)
  })
})

describe('fields() read side', () => {
  const transformed = (roles: string[], body: unknown, status = 200) => {
    const ctx = context({ principal: user('a', { roles }) })
    fields({ read })(ctx)
    return ctx.transformBody(body, status)
  }
  const note = {
    id: 'n1',
    title: 't',
    ownerId: 'alice',
    secret: 's',
    items: [
      { name: 'a', cost: 3, internal: true },
      { name: 'b', cost: 4 },
    ],
  }

  it('copies only what every principal may read, recursively through arrays', () => {
    expect(transformed([], note)).toEqual({ id: 'n1', title: 't', items: [{ name: 'a' }, { name: 'b' }] })
    expect(transformed([], [note])).toEqual([{ id: 'n1', title: 't', items: [{ name: 'a' }, { name: 'b' }] }])
  })

  it('adds what the roles of the principal may read', () => {
    expect(transformed(['admin'], note)).toEqual({
      id: 'n1',
      title: 't',
      ownerId: 'alice',
      items: [
        { name: 'a', cost: 3 },
        { name: 'b', cost: 4 },
      ],
    })
  })

  it('leaves answers other than 2xx untouched', () => {
    expect(transformed([], { error: 'x', secret: 's' }, 404)).toEqual({ error: 'x', secret: 's' })
  })
})

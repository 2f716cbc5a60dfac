import { compileProjection } from '@apiward/core'
import { describe, expect, it } from 'vitest'

describe('compileProjection', () => {
  const note = compileProjection({ id: true, title: true, owner: { id: true, name: true }, tags: true })

  it('keeps only the listed properties, at every depth', () => {
    expect(
      note({ id: 1, title: 'a', secret: 's', owner: { id: 'u1', name: 'Ann', email: 'ann@x' }, tags: ['x'] }),
    ).toEqual({ id: 1, title: 'a', owner: { id: 'u1', name: 'Ann' }, tags: ['x'] })
  })

  it('projects every element of an array, top-level or nested', () => {
    const list = compileProjection({ items: { id: true } })
    expect(
      list({
        items: [
          { id: 1, pw: 'x' },
          { id: 2, pw: 'y' },
        ],
        total: 2,
      }),
    ).toEqual({ items: [{ id: 1 }, { id: 2 }] })
    expect(
      note([
        { id: 1, secret: 's' },
        { id: 2, secret: 't' },
      ]),
    ).toEqual([{ id: 1 }, { id: 2 }])
    const grid = compileProjection({ rows: { id: true } })
    expect(grid({ rows: [[{ id: 1, x: 1 }], [{ id: 2, x: 2 }]] })).toEqual({
      rows: [[{ id: 1 }], [{ id: 2 }]],
    })
  })

  it('leaves absent properties absent and keeps explicit undefined and null', () => {
    const out = note({ id: 1, owner: null, title: undefined }) as Record<string, unknown>
    expect(Object.keys(out).sort()).toEqual(['id', 'owner', 'title'])
    expect(out.owner).toBeNull()
  })

  it('keeps primitives where an object was expected: they carry no properties', () => {
    expect(note({ id: 1, owner: 'u1' })).toEqual({ id: 1, owner: 'u1' })
    expect(note('plain')).toBe('plain')
  })

  it('projects what toJSON stands for, as JSON.stringify would send it', () => {
    const doc = { toJSON: () => ({ id: 7, title: 't', password: 'p' }) }
    expect(note(doc)).toEqual({ id: 7, title: 't' })
    const when = compileProjection({ at: { x: true } })
    expect(when({ at: new Date(0) })).toEqual({ at: '1970-01-01T00:00:00.000Z' })
  })

  it('follows toJSON once, so a toJSON returning another such object cannot recurse without end', () => {
    const loop: { toJSON(): unknown; id: number } = { id: 1, toJSON: () => loop }
    expect(note(loop)).toEqual({ id: 1 })
  })

  it('keeps every key of a dictionary under a wildcard, each projected by its tree', () => {
    const byUser = compileProjection({ '*': { name: true } })
    expect(byUser({ u1: { name: 'a', pw: 1 }, u2: { name: 'b', pw: 2 } })).toEqual({
      u1: { name: 'a' },
      u2: { name: 'b' },
    })
    const mixed = compileProjection({ '*': { name: true }, meta: true })
    expect(mixed({ meta: { raw: 1 }, u1: { name: 'a', pw: 1 } })).toEqual({
      meta: { raw: 1 },
      u1: { name: 'a' },
    })
  })

  it('copies a __proto__ key as data, never as a prototype', () => {
    const open = compileProjection({ ['__proto__']: true, id: true })
    const input = JSON.parse('{"__proto__": {"admin": true}, "id": 1}')
    const out = open(input) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect((out as { admin?: unknown }).admin).toBeUndefined()
    expect(JSON.stringify(out)).toBe('{"__proto__":{"admin":true},"id":1}')
  })

  it('ignores inherited properties', () => {
    const proto = { secret: 's', id: 9 }
    expect(note(Object.create(proto))).toEqual({})
  })

  it.each([[{ id: false }], [{ id: 'yes' }], [{ id: [] }], [{ a: { b: 1 } }]])(
    'refuses a tree that is not true or nested objects: %j',
    (tree) => {
      expect(() => compileProjection(tree as never)).toThrow(TypeError)
    },
  )
})

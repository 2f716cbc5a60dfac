import { createKey, type SecurityContext, type StateKey } from '@apiward/core'
import { describe, expectTypeOf, it } from 'vitest'

interface Note {
  id: string
  owner: string
}

describe('typed state keys', () => {
  it('types get() by the key', () => {
    const kNote = createKey<Note>('note')
    expectTypeOf(kNote).toEqualTypeOf<StateKey<Note>>()
    const read = (ctx: SecurityContext) => ctx.get(kNote)
    expectTypeOf(read).returns.toEqualTypeOf<Note | undefined>()
  })

  it('takes only a value of the key type in set()', () => {
    const kNote = createKey<Note>('note')
    const write = (ctx: SecurityContext) => {
      ctx.set(kNote, { id: '1', owner: 'u' })
      // @ts-expect-error a number is not a Note
      ctx.set(kNote, 42)
    }
    expectTypeOf(write).toBeFunction()
  })
})

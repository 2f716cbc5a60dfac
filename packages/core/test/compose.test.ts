import { compose, defineGuard, type Guard, SecurityContext, splitByBody, toGuardList } from '@apiward/core'
import { Forbidden } from '@apiward/errors'
import { describe, expect, it, vi } from 'vitest'
import { testContext } from './support.js'

describe('compose', () => {
  it('runs guards in order and stays synchronous when every guard is', () => {
    const seen: string[] = []
    const a: Guard = () => void seen.push('a')
    const b: Guard = () => void seen.push('b')
    const result = compose(a, b)(testContext())
    expect(result).toBeUndefined()
    expect(seen).toEqual(['a', 'b'])
  })

  it('stops at the first guard that throws', () => {
    const seen: string[] = []
    const deny: Guard = () => {
      throw new Forbidden()
    }
    expect(() =>
      compose(
        () => void seen.push('a'),
        deny,
        () => void seen.push('c'),
      )(testContext()),
    ).toThrow(Forbidden)
    expect(seen).toEqual(['a'])
  })

  it('awaits only from the first guard that returns a promise', async () => {
    const seen: string[] = []
    const slow: Guard = async () => {
      await new Promise((r) => setTimeout(r, 5))
      seen.push('slow')
    }
    const result = compose(
      () => void seen.push('a'),
      slow,
      () => void seen.push('c'),
    )(testContext())
    expect(seen).toEqual(['a'])
    expect(typeof (result as Promise<void>).then).toBe('function')
    await result
    expect(seen).toEqual(['a', 'slow', 'c'])
  })

  it('rejects with the denial of an asynchronous guard and runs nothing after it', async () => {
    const after = vi.fn()
    const deny: Guard = async () => {
      throw new Forbidden({ code: 'authz.nope' })
    }
    await expect(Promise.resolve(compose(deny, after)(testContext()))).rejects.toMatchObject({
      code: 'authz.nope',
    })
    expect(after).not.toHaveBeenCalled()
  })

  it('returns an allow-all guard for an empty composition and the guard itself for one', () => {
    const only: Guard = () => {}
    expect(compose(only)).toBe(only)
    expect(compose()(testContext())).toBeUndefined()
  })

  it('flattens nested lists and compositions, keeping the parts', () => {
    const a = defineGuard(() => {}, { guardName: 'a' })
    const b = defineGuard(() => {}, { guardName: 'b', needsBody: true })
    const c = defineGuard(() => {}, { guardName: 'c' })
    const inner = compose(a, b)
    const outer = compose([inner, [c]])
    expect(outer.parts).toEqual([a, b, c])
    expect(outer.needsBody).toBe(true)
    expect(toGuardList([outer])).toEqual([a, b, c])
  })

  it('throws a TypeError at build time for something that is not a guard', () => {
    expect(() => compose('jwt' as unknown as Guard)).toThrow(/expects guards.*got string/)
    expect(() => compose(undefined as unknown as Guard)).toThrow(TypeError)
  })
})

describe('splitByBody', () => {
  it('splits at the first guard that needs the body and keeps order', () => {
    const a = defineGuard(() => {}, {})
    const b = defineGuard(() => {}, { needsBody: true })
    const c = defineGuard(() => {}, {})
    expect(splitByBody([a, b, c])).toEqual({ beforeBody: [a], afterBody: [b, c] })
    expect(splitByBody([a, c])).toEqual({ beforeBody: [a, c], afterBody: [] })
  })
})

describe('SecurityContext', () => {
  it('is what the test helper builds', () => {
    expect(testContext()).toBeInstanceOf(SecurityContext)
  })
})

import { memoryRevocationStore } from '@apiward/auth'
import { configureWarnings, resetWarnings } from '@apiward/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BoundedMap } from '../src/bounded-map.js'

afterEach(() => {
  vi.useRealTimers()
  configureWarnings()
})

describe('BoundedMap', () => {
  it('refuses a bound that is not a positive integer', () => {
    for (const max of [0, -1, 1.5, Number.NaN]) expect(() => new BoundedMap(max)).toThrow(TypeError)
  })

  it('never holds more than its bound, whatever the mix of reads and writes', () => {
    const map = new BoundedMap<number, number>(50)
    for (let i = 0; i < 5000; i++) {
      map.set(i, i)
      if (i % 3 === 0) map.get(i - 7)
      if (i % 11 === 0) map.delete(i - 2)
      expect(map.size).toBeLessThanOrEqual(50)
    }
    expect(map.get(4999)).toBe(4999)
  })

  it('spares entries read since the hand last passed, once', () => {
    const map = new BoundedMap<string, number>(3)
    map.set('a', 1)
    map.set('b', 2)
    map.set('c', 3)
    map.get('a')
    map.set('d', 4)
    expect([map.has('a'), map.has('b'), map.has('c'), map.has('d')]).toEqual([true, false, true, true])
    map.set('e', 5)
    expect(map.has('c')).toBe(false)
  })

  it('still evicts after every entry was read, and keeps working for a long run at the bound', () => {
    const map = new BoundedMap<number, number>(1000)
    for (let i = 0; i < 1000; i++) map.set(i, i)
    for (let i = 0; i < 1000; i++) map.get(i)
    for (let i = 1000; i < 50_000; i++) map.set(i, i)
    expect(map.size).toBe(1000)
    expect(map.get(49_999)).toBe(49_999)
    expect(map.get(0)).toBeUndefined()
  })

  it('never returns an expired entry, and the hand drops expired entries before unread live ones', () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const map = new BoundedMap<string, string>(3)
    map.set('live', 'x')
    map.set('soon', 'y', Date.now() + 1000)
    map.set('later', 'z', Date.now() + 60_000)
    map.get('live')
    vi.advanceTimersByTime(1000)
    expect(map.get('soon')).toBeUndefined()
    expect(map.has('soon')).toBe(false)
    map.set('new', 'w')
    expect([map.get('live'), map.get('later'), map.get('new')]).toEqual(['x', 'z', 'w'])
  })

  it('replaces a value in place and forgets deleted and cleared keys', () => {
    const map = new BoundedMap<string, number>(2)
    map.set('a', 1)
    map.set('a', 2)
    expect([map.get('a'), map.size]).toEqual([2, 1])
    expect(map.delete('a')).toBe(true)
    expect([map.has('a'), map.delete('a')]).toEqual([false, false])
    map.set('b', 3)
    map.clear()
    expect([map.size, map.get('b')]).toEqual([0, undefined])
    map.set('c', 4)
    expect(map.get('c')).toBe(4)
  })
})

describe('memoryRevocationStore() at its bound', () => {
  it('keeps a revoked ID that is still being presented over older unseen ones', () => {
    const store = memoryRevocationStore({ max: 3 })
    const exp = Date.now() / 1000 + 600
    for (const jti of ['a', 'b', 'c']) store.revoke(jti, exp)
    expect(store.isRevoked('a')).toBe(true)
    store.revoke('d', exp)
    expect(['a', 'b', 'c', 'd'].map((jti) => store.isRevoked(jti))).toEqual([true, false, true, true])
  })

  it('forgets an ID once its token has expired', () => {
    vi.useFakeTimers({ now: 1_000_000_000 })
    const store = memoryRevocationStore()
    store.revoke('j1', Date.now() / 1000 + 10)
    expect(store.isRevoked('j1')).toBe(true)
    vi.advanceTimersByTime(10_000)
    expect(store.isRevoked('j1')).toBe(false)
  })

  it('warns once when full, naming the fix', () => {
    resetWarnings()
    const seen: string[] = []
    configureWarnings({ logger: (code, message) => seen.push(`${code} ${message}`) })
    const store = memoryRevocationStore({ max: 2 })
    const exp = Date.now() / 1000 + 600
    for (const jti of ['a', 'b', 'c', 'd']) store.revoke(jti, exp)
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatch(/^APIWARD_REVOCATION_STORE_FULL .*redisRevocationStore\(\)/)
  })

  it('refuses unknown options and revocations without a string ID and an expiry', () => {
    expect(() => memoryRevocationStore({ maxx: 5 } as never)).toThrow(/did you mean "max"/)
    const store = memoryRevocationStore()
    expect(() => store.revoke(5 as never, 1)).toThrow(TypeError)
    expect(() => store.revoke('j', '1' as never)).toThrow(TypeError)
  })
})

import { describe, expect, it } from 'vitest'
import { TokenCache } from '../src/token-cache.js'

describe('TokenCache', () => {
  it('never holds more than its bound', () => {
    const cache = new TokenCache<number>(100)
    for (let i = 0; i < 1000; i++) cache.set(`t${i}`, i)
    expect(cache.size).toBe(100)
    expect(cache.get('t999')).toBe(999)
    expect(cache.get('t0')).toBeUndefined()
  })

  it('keeps entries read since the last eviction pass (second chance)', () => {
    const cache = new TokenCache<number>(3)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.set('c', 3)
    expect(cache.get('a')).toBe(1)
    cache.set('d', 4)
    expect(cache.get('a')).toBe(1)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('c')).toBe(3)
    expect(cache.get('d')).toBe(4)
  })

  it('evicts even when every entry was read', () => {
    const cache = new TokenCache<number>(2)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.get('a')
    cache.get('b')
    cache.set('c', 3)
    expect(cache.size).toBe(2)
    expect(cache.get('c')).toBe(3)
  })

  it('replaces the value of a cached token and forgets deleted ones', () => {
    const cache = new TokenCache<number>(2)
    cache.set('a', 1)
    cache.set('a', 2)
    expect(cache.get('a')).toBe(2)
    cache.delete('a')
    expect(cache.get('a')).toBeUndefined()
  })

  it('never answers for a token that only shares the tail of a cached one, and holds both', () => {
    const cache = new TokenCache<string>(10)
    const tail = 'S'.repeat(64)
    cache.set(`header.payload-a.${tail}`, 'a')
    expect(cache.get(`header.payload-b.${tail}`)).toBeUndefined()
    expect(cache.get(`header.payload-a.${tail}`)).toBe('a')
    cache.delete(`header.payload-b.${tail}`)
    expect(cache.get(`header.payload-a.${tail}`)).toBe('a')
    cache.set(`header.payload-b.${tail}`, 'b')
    expect(cache.get(`header.payload-b.${tail}`)).toBe('b')
    expect(cache.get(`header.payload-a.${tail}`)).toBe('a')
  })
})

import { rateLimit } from '@apiward/ratelimit'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryCounter, memoryStore } from '../src/memory-store.js'
import { context } from './support.js'

describe('MemoryCounter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(1_000_000)
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('counts hits per key in a window that starts with the first hit', () => {
    const counter = new MemoryCounter({ name: 't', points: 3, duration: 10 })
    expect(counter.hit('a', 1)).toEqual({ consumed: 1, resetAt: 1_010_000 })
    vi.setSystemTime(1_004_000)
    expect(counter.hit('a', 2)).toEqual({ consumed: 3, resetAt: 1_010_000 })
    expect(counter.hit('b', 1)).toEqual({ consumed: 1, resetAt: 1_014_000 })
    expect(counter.peek('a')).toEqual({ consumed: 3, resetAt: 1_010_000 })
    expect(counter.peek('c')).toBeUndefined()
  })

  it("counts at the caller's clock when it gives one, and at its own otherwise", () => {
    const counter = new MemoryCounter({ name: 't', points: 3, duration: 10 })
    expect(counter.take('a', 1, 2_000_000)).toEqual({ consumed: 1, resetAt: 2_010_000 })
    expect(counter.hit('a', 1, 2_005_000)).toEqual({ consumed: 2, resetAt: 2_010_000 })
    // At the caller's 2_010_000 the window has ended; the counter's own clock (1_000_000) would not say so.
    expect(counter.take('a', 1, 2_010_000)).toEqual({ consumed: 1, resetAt: 2_020_000 })
    expect(counter.take('b', 1)).toEqual({ consumed: 1, resetAt: 1_010_000 })
  })

  it('starts a new window once the old one ends', () => {
    const counter = new MemoryCounter({ name: 't', points: 3, duration: 10 })
    counter.hit('a', 5)
    vi.setSystemTime(1_010_000)
    expect(counter.peek('a')).toBeUndefined()
    expect(counter.hit('a', 1)).toEqual({ consumed: 1, resetAt: 1_020_000 })
  })

  it('gives points back, blocks beyond the limit and forgets on reset', () => {
    const counter = new MemoryCounter({ name: 't', points: 3, duration: 10, blockDuration: 60 })
    counter.hit('a', 2)
    counter.reward('a', 1)
    expect(counter.peek('a')?.consumed).toBe(1)
    counter.reward('a', 5)
    expect(counter.peek('a')?.consumed).toBe(0)
    counter.block('a', 60)
    expect(counter.peek('a')).toEqual({ consumed: 4, resetAt: 1_060_000 })
    vi.setSystemTime(1_030_000)
    expect(counter.peek('a')?.consumed).toBe(4)
    counter.reset('a')
    expect(counter.peek('a')).toBeUndefined()
  })

  it('drops ended windows by generations, keeping live ones across a rotation', () => {
    const counter = new MemoryCounter({ name: 't', points: 100, duration: 10 })
    for (let i = 0; i < 50; i++) counter.hit(`k${i}`, 1)
    vi.setSystemTime(1_009_000)
    counter.hit('late', 1)
    vi.setSystemTime(1_011_000)
    expect(counter.hit('late', 1)).toEqual({ consumed: 2, resetAt: 1_019_000 })
    expect(counter.peek('k1')).toBeUndefined()
    vi.setSystemTime(1_022_000)
    counter.hit('fresh', 1)
    expect(counter.size).toBe(1)
  })

  it('takes a cost only when it fits, and consumes nothing when it does not', () => {
    const counter = new MemoryCounter({ name: 't', points: 20, duration: 10 })
    expect(counter.take('a', 1)).toEqual({ consumed: 1, resetAt: 1_010_000 })
    expect(counter.take('a', 20)).toEqual({ consumed: 1, resetAt: 1_010_000, refused: true })
    expect(counter.take('a', 19)).toEqual({ consumed: 20, resetAt: 1_010_000 })
    expect(counter.take('a', 1)).toMatchObject({ consumed: 20, refused: true })
    expect(counter.take('b', 21)).toEqual({ consumed: 0, resetAt: 1_010_000, refused: true })
    expect(counter.peek('b')).toBeUndefined()
  })

  it('keeps a block longer than the window until it ends', () => {
    const counter = new MemoryCounter({ name: 't', points: 1, duration: 10, blockDuration: 100 })
    counter.block('a', 100)
    for (let t = 1_010_000; t < 1_100_000; t += 10_000) {
      vi.setSystemTime(t)
      counter.hit('other', 1)
      expect(counter.peek('a')?.consumed, `at ${t}`).toBe(2)
    }
    vi.setSystemTime(1_100_000)
    expect(counter.peek('a')).toBeUndefined()
  })
})

describe('MemoryCounter with maxKeys', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(1_000_000)
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('never holds more than maxKeys keys under a flood of new ones', () => {
    const counter = new MemoryCounter({ name: 't', points: 5, duration: 60 }, 100)
    for (let i = 0; i < 10_000; i++) {
      counter.take(`flood-${i}`, 1)
      expect(counter.size).toBeLessThanOrEqual(100)
    }
    expect(counter.size).toBe(100)
  })

  it('keeps a blocked key blocked, and a full key full, while a flood overflows', () => {
    const counter = new MemoryCounter({ name: 't', points: 3, duration: 60, blockDuration: 600 }, 50)
    counter.block('blocked', 600)
    for (let i = 0; i < 3; i++) counter.take('full', 1)
    for (let i = 0; i < 5000; i++) counter.take(`flood-${i}`, 1)
    expect(counter.take('blocked', 1).refused).toBe(true)
    expect(counter.take('full', 1).refused).toBe(true)
    expect(counter.peek('blocked')?.consumed).toBe(4)
  })

  it('counts keys without room in one overflow bucket with the same limit', () => {
    const counter = new MemoryCounter({ name: 't', points: 3, duration: 60 }, 2)
    counter.take('a', 1)
    counter.take('b', 1)
    const newcomers = ['c', 'd', 'e', 'f'].map((key) => counter.take(key, 1).refused === true)
    expect(newcomers).toEqual([false, false, false, true])
    expect(counter.peek('zzz')?.consumed).toBe(3)
    counter.reset('zzz')
    expect(counter.take('c', 1).refused).toBe(true)
    expect(counter.take('a', 1).refused).toBeUndefined()
  })

  it('makes room by dropping ended windows first, never running ones', () => {
    const counter = new MemoryCounter({ name: 't', points: 1, duration: 10 }, 3)
    counter.take('old', 1)
    vi.setSystemTime(1_005_000)
    counter.take('young', 1)
    counter.take('young2', 1)
    vi.setSystemTime(1_010_000)
    expect(counter.take('new', 1).refused).toBeUndefined()
    expect(counter.take('new', 1).refused).toBe(true)
    expect(counter.take('young', 1).refused).toBe(true)
    expect(counter.size).toBe(3)
    // Its window ended, so it may start another: in the overflow, the table being full.
    expect(counter.take('old', 1).refused).toBeUndefined()
    expect(counter.take('another', 1).refused).toBe(true)
  })

  it('lets new keys in again once running windows end', () => {
    const counter = new MemoryCounter({ name: 't', points: 1, duration: 10 }, 2)
    counter.take('a', 1)
    counter.take('b', 1)
    expect(counter.take('c', 1).refused).toBeUndefined()
    expect(counter.take('d', 1).refused).toBe(true)
    vi.setSystemTime(1_010_000)
    expect(counter.take('d', 1).refused).toBeUndefined()
    expect(counter.take('e', 1).refused).toBeUndefined()
    expect(counter.size).toBe(2)
  })
})

describe('memoryStore', () => {
  it('bounds the keys of each counter by maxKeys, and keeps a blocked client blocked under a flood', () => {
    const store = memoryStore({ maxKeys: 1000 })
    const guard = rateLimit({ points: 2, duration: 60, store, key: (ctx) => ctx.req.header('x-api-key') })
    const counter = store.counter({ name: 'rl:default:60', points: 2, duration: 60 }) as MemoryCounter
    const victim = { headers: { 'x-api-key': 'attacker-main' } }
    guard(context(victim))
    guard(context(victim))
    expect(() => guard(context(victim))).toThrow(/Too many requests/)
    for (let i = 0; i < 20_000; i++) {
      try {
        guard(context({ headers: { 'x-api-key': `invented-${i}` } }))
      } catch {}
    }
    expect(counter.size).toBeLessThanOrEqual(1000)
    expect(() => guard(context(victim))).toThrow(/Too many requests/)
  })

  it('refuses a maxKeys that is not a positive integer, and unknown options', () => {
    expect(() => memoryStore({ maxKeys: 0 })).toThrow(/maxKeys must be an integer/)
    expect(() => memoryStore({ maxKeys: 1.5 })).toThrow(TypeError)
    expect(() => memoryStore({ maxSize: 10 } as never)).toThrow(/did you mean "maxKeys"/)
  })

  it('hands the same counter to limiters with the same name and limits', () => {
    const store = memoryStore()
    const a = store.counter({ name: 'x', points: 2, duration: 5 })
    const b = store.counter({ name: 'x', points: 2, duration: 5 })
    expect(a).toBe(b)
    expect(store.remote).toBe(false)
  })

  it('refuses one name with two different limits on one store', () => {
    const store = memoryStore()
    store.counter({ name: 'x', points: 2, duration: 5 })
    expect(() => store.counter({ name: 'x', points: 3, duration: 5 })).toThrow(/own name/)
  })
})

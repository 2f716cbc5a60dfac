import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryCounter, memoryStore } from '../src/memory-store.js'

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

describe('memoryStore', () => {
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

import { booleanOption, checkOptions, functionOption, type KnownOptions } from '@apiward/core'
import { describe, expect, it } from 'vitest'

interface CacheOptions {
  ttl: number
  max?: number
}
interface LimitOptions {
  points?: number
  duration?: number
  countRefused?: boolean
  cache?: CacheOptions
}

const LIMIT: KnownOptions<LimitOptions> = { points: true, duration: true, countRefused: true, cache: true }
const CACHE: KnownOptions<CacheOptions> = { ttl: true, max: true }
const MISTAKES = { windowMs: 'duration (in seconds)' }

function limit(options: unknown): LimitOptions {
  checkOptions<LimitOptions>(options, 'limit()', LIMIT, MISTAKES, '{ points: 10, duration: 60 }')
  if (options.cache !== undefined) checkOptions<CacheOptions>(options.cache, 'limit(): cache', CACHE)
  return options
}

describe('checkOptions()', () => {
  it('accepts known names, set or left undefined', () => {
    expect(limit({ points: 1, duration: undefined, cache: { ttl: 5 } })).toEqual({
      points: 1,
      duration: undefined,
      cache: { ttl: 5 },
    })
  })

  it('refuses an unknown name with a TypeError suggesting the nearest known one and listing them', () => {
    expect(() => limit({ countRefuse: true })).toThrow(TypeError)
    expect(() => limit({ countRefuse: true })).toThrow(
      'limit(): unknown option "countRefuse"; did you mean "countRefused"? Known options: points, duration, countRefused, cache.',
    )
    expect(() => limit({ Points: 1 })).toThrow(/did you mean "points"\?/)
  })

  it('suggests nothing when no known name is near', () => {
    expect(() => limit({ zzz: 1 })).toThrow(/^limit\(\): unknown option "zzz"\. Known options: points/)
  })

  it('checks a nested options object the same way, naming its path', () => {
    expect(() => limit({ cache: { ttl: 5, mx: 10 } })).toThrow(
      'limit(): cache: unknown option "mx"; did you mean "max"? Known options: ttl, max.',
    )
    expect(() => limit({ cache: 'ttl=5' })).toThrow('limit(): cache: options must be an object.')
  })

  it("points another library's name to the apiward one", () => {
    expect(() => limit({ windowMs: 60_000 })).toThrow(
      /unknown option "windowMs"; did you mean "duration \(in seconds\)"\?/,
    )
  })

  it.each([undefined, null, 'points', 42, [1, 2]])('refuses %j as options, with an example', (options) => {
    expect(() => limit(options)).toThrow(TypeError)
    expect(() => limit(options)).toThrow(
      'limit(): options must be an object, e.g. { points: 10, duration: 60 }.',
    )
  })
})

describe('option readers', () => {
  it('read a boolean or its default, and refuse anything else', () => {
    expect(booleanOption(undefined, 'countRefused', 'limit()', true)).toBe(true)
    expect(booleanOption(false, 'countRefused', 'limit()', true)).toBe(false)
    expect(() => booleanOption('no', 'countRefused', 'limit()', true)).toThrow(
      'limit(): countRefused must be true or false',
    )
  })

  it('read an optional function, and refuse anything else with its shape', () => {
    const skip = () => false
    expect(functionOption(skip, 'skip', 'limit()')).toBe(skip)
    expect(functionOption(undefined, 'skip', 'limit()')).toBeUndefined()
    expect(() => functionOption('yes', 'skip', 'limit()', '(ctx) => boolean')).toThrow(
      'limit(): skip must be a function (ctx) => boolean',
    )
  })
})

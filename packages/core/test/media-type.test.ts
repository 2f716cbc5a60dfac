import { mediaTypeMatches, mediaTypeOf } from '@apiward/core'
import { describe, expect, it } from 'vitest'

describe('mediaTypeOf', () => {
  it.each([
    ['application/json', 'application/json'],
    ['Application/JSON; charset=utf-8', 'application/json'],
    ['  text/plain ;q=1', 'text/plain'],
    ['application/vnd.api+json', 'application/vnd.api+json'],
    ['json', undefined],
    ['application/', undefined],
    ['application/json x', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('reads %s as %s', (header, expected) => {
    expect(mediaTypeOf(header)).toBe(expected)
  })
})

describe('mediaTypeMatches', () => {
  it('matches full types, wildcard subtypes and structured suffixes', () => {
    expect(mediaTypeMatches('application/json', ['application/json'])).toBe(true)
    expect(mediaTypeMatches('application/json', ['+json'])).toBe(true)
    expect(mediaTypeMatches('application/problem+json', ['+JSON'])).toBe(true)
    expect(mediaTypeMatches('text/csv', ['text/*'])).toBe(true)
    expect(mediaTypeMatches('text/csv', ['application/*', '+json'])).toBe(false)
    expect(mediaTypeMatches('application/jsonx', ['+json'])).toBe(false)
  })

  it('never matches a missing or malformed type', () => {
    expect(mediaTypeMatches(undefined, ['+json', 'application/json'])).toBe(false)
  })
})

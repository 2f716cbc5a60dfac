import { normalizePath } from '@apiward/core'
import { ApiError } from '@apiward/errors'
import { describe, expect, it } from 'vitest'

describe('normalizePath', () => {
  it.each([
    ['/notes', '/notes'],
    ['/notes?x=1', '/notes'],
    ['/notes/', '/notes'],
    ['//notes//a', '/notes/a'],
    ['/notes/./a/../b', '/notes/b'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/%6cogin', '/login'],
    ['/login;jsessionid=abc', '/login'],
    ['/a;x=1/b;y=2', '/a/b'],
    ['/admin%2Fusers', '/admin/users'],
    ['/notes/%2e%2e/admin', '/admin'],
    ['/a/%252e%252e/b', '/a/%2e%2e/b'],
    ['/a\\..\\b', '/b'],
    ['', '/'],
    ['/', '/'],
    ['/#frag', '/'],
    ['/caf%C3%A9', '/café'],
  ])('normalises %s to %s', (input, expected) => {
    expect(normalizePath(input)).toBe(expected)
  })

  it('keeps the case of the path', () => {
    expect(normalizePath('/LOGIN')).toBe('/LOGIN')
  })

  it('decodes exactly once', () => {
    expect(normalizePath('/%2561')).toBe('/%61')
  })

  it.each(['/%E0%A4%A', '/%zz', '/a%'])('answers malformed encoding %s with a 400 ApiError', (input) => {
    try {
      normalizePath(input)
      expect.unreachable()
    } catch (err) {
      expect(ApiError.is(err)).toBe(true)
      expect((err as ApiError).status).toBe(400)
      expect((err as ApiError).code).toBe('request.invalid_path')
    }
  })

  it('refuses an encoded NUL byte', () => {
    expect(() => normalizePath('/a%00b')).toThrow(ApiError)
  })
})

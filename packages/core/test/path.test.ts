import {
  absoluteFormHost,
  EXACT_ROUTER,
  FOLDING_ROUTER,
  normalizePath,
  originForm,
  routerPath,
} from '@apiward/core'
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
    ['/admin%2Fusers', '/admin%2Fusers'],
    ['/public/..%2Fadmin', '/public/..%2Fadmin'],
    ['/public/..%2fadmin/', '/public/..%2Fadmin'],
    ['/a%5C..%5Cb', '/a%5C..%5Cb'],
    ['/a/%2e%2e%2Fb', '/a/..%2Fb'],
    ['/notes/%2e%2e/admin', '/admin'],
    ['/a/%252e%252e/b', '/a/%2e%2e/b'],
    ['/a\\..\\b', '/b'],
    ['', '/'],
    ['/', '/'],
    ['/#frag', '/'],
    ['/caf%C3%A9', '/café'],
    ['http://anything.example/rl-path', '/rl-path'],
    ['HTTPS://anything.example:8443/rl-path?x=1', '/rl-path'],
    ['http://user:pw@anything.example/a/../rl-path/', '/rl-path'],
    ['http://anything.example', '/'],
    ['http://anything.example?x=1', '/'],
    ['ftp://anything.example/rl-path', '/rl-path'],
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

describe('originForm', () => {
  it.each([
    ['http://anything.example/login?x=1', '/login?x=1'],
    ['https://h:8443', '/'],
    ['http://h?q', '/?q'],
    ['/login', '/login'],
    ['*', '*'],
    ['//h/login', '//h/login'],
  ])('turns the target %s into %s', (input, expected) => {
    expect(originForm(input)).toBe(expected)
  })
})

describe('routerPath', () => {
  it('folds case and the trailing slash for a router that ignores both', () => {
    expect(routerPath('/login', '/LOGIN/', FOLDING_ROUTER)).toBe('/login')
    expect(routerPath('/Notes/A', '/Notes/A', FOLDING_ROUTER)).toBe('/notes/a')
  })

  it('keeps case and the trailing slash for a router that compares exactly', () => {
    expect(routerPath('/Login', '/Login/', EXACT_ROUTER)).toBe('/Login/')
    expect(routerPath('/Login', '/Login', EXACT_ROUTER)).toBe('/Login')
  })

  it('never doubles the root', () => {
    expect(routerPath('/', '/', EXACT_ROUTER)).toBe('/')
  })

  it('mixes the two rules independently', () => {
    expect(routerPath('/A', '/A/', { caseSensitive: false, strictSlash: true })).toBe('/a/')
    expect(routerPath('/A', '/A/', { caseSensitive: true, strictSlash: false })).toBe('/A')
  })
})

describe('absoluteFormHost', () => {
  it.each([
    ['http://user:pw@Api.Example:8443/x', 'Api.Example:8443'],
    ['https://h', 'h'],
    ['http://[::1]:80/x', '[::1]:80'],
    ['/x', undefined],
    ['*', undefined],
  ])('reads the host of %s', (target, expected) => {
    expect(absoluteFormHost(target)).toBe(expected)
  })
})

import { defineGuard, unless } from '@apiward/core'
import { Unauthorized } from '@apiward/errors'
import { afterAll, describe, expect, it } from 'vitest'
import { send } from './client.js'
import type { AppSpec, RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

/** An authentication stand-in: every request it sees is refused. */
const authenticate = defineGuard(
  () => {
    throw new Unauthorized({ code: 'auth.missing_credentials' })
  },
  { guardName: 'authenticate', kind: 'authentication' },
)

const routes: AppSpec['routes'] = [
  { method: 'GET', path: '/public/info' },
  { method: 'GET', path: '/public' },
  { method: 'GET', path: '/admin' },
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/users/:id/avatar' },
  { method: 'GET', path: '/users/:id' },
  { method: 'POST', path: '/health' },
]

const exceptions = { path: ['/public/*', '/health', '/users/:id/avatar'] }

describe.each(harnesses)('unless() on an app-wide guard through $name', (harness) => {
  const servers: RunningServer[] = []
  const start = async (spec: AppSpec) => {
    const server = await harness.start(spec)
    servers.push(server)
    return server.url
  }
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })
  const status = async (url: string, target: string, method = 'GET') =>
    (await send(`${url}/`, { target, method })).status

  it('skips the guard on the excepted paths only', async () => {
    const url = await start({ appGuards: [unless(authenticate, exceptions)], routes })
    expect(await status(url, '/public/info')).toBe(200)
    expect(await status(url, '/public')).toBe(200)
    expect(await status(url, '/health')).toBe(200)
    expect(await status(url, '/users/7/avatar')).toBe(200)
    expect(await status(url, '/admin')).toBe(401)
    expect(await status(url, '/users/7')).toBe(401)
    expect(await status(url, '/publicity')).toBe(401)
  })

  it('lends no exception to a path that only spells like an excepted one', async () => {
    const url = await start({ appGuards: [unless(authenticate, exceptions)], routes })
    for (const target of [
      '/public/../admin',
      '/public/%2e%2e/admin',
      '/public%2F..%2Fadmin',
      '/health/../admin',
      '//public/../admin',
      '/admin?/public/info',
      '/admin#/public',
      '/admin;/public/info',
      'http://any.example/public/../admin',
    ]) {
      // The guard ran (401), or the request was refused as malformed before it (400).
      expect([
        [target, 400],
        [target, 401],
      ]).toContainEqual([target, await status(url, target)])
    }
  })

  // Before @koa/router ran, Koa's app-wide guards see its defaults (case and slash folded): there the
  // exception is taken and the router answers 404, so nothing is served either way.
  it('follows a case-sensitive router: /PUBLIC is not /public there', async () => {
    const url = await start({
      appGuards: [unless(authenticate, exceptions)],
      routes,
      routing: { caseSensitive: true, strictSlash: false },
    })
    expect(await status(url, '/PUBLIC/info')).toBe(harness.framework === 'koa' ? 404 : 401)
    expect(await status(url, '/Health')).toBe(harness.framework === 'koa' ? 404 : 401)
    expect(await status(url, '/public/info')).toBe(200)
  })

  it('follows a case-folding router: /PUBLIC/info is the route /public/info there', async () => {
    const url = await start({
      appGuards: [unless(authenticate, exceptions)],
      routes,
      routing: { caseSensitive: false, strictSlash: false },
    })
    expect(await status(url, '/PUBLIC/info')).toBe(200)
    expect(await status(url, '/ADMIN')).toBe(401)
  })

  it('follows a strict router: /health/ is a route of its own there', async () => {
    const url = await start({
      appGuards: [unless(authenticate, exceptions)],
      routes,
      routing: { caseSensitive: true, strictSlash: true },
    })
    expect(await status(url, '/health/')).toBe(harness.framework === 'koa' ? 404 : 401)
    expect(await status(url, '/health')).toBe(200)
  })

  it('skips by method, and by method on a path', async () => {
    const url = await start({
      appGuards: [unless(authenticate, { path: '/health', method: 'GET' })],
      routes,
    })
    expect(await status(url, '/health')).toBe(200)
    expect(await status(url, '/health', 'HEAD')).toBe(200)
    expect(await status(url, '/health', 'POST')).toBe(401)
    expect(await status(url, '/admin')).toBe(401)
  })
})

describe('unless() options', () => {
  it.each([
    [{}, /give path, method or both/],
    [{ path: '/public/../admin' }, /write "\/admin"/],
    [{ path: '/public/' }, /normalised path/],
    [{ path: 'public' }, /normalised path/],
    [{ path: '/a*' }, /no wildcard but a final/],
    [{ path: /\/public/ }, /must be a string/],
    [{ path: [] }, /non-empty array/],
    [{ method: 'get it' }, /HTTP method names/],
    [{ paths: ['/x'] }, /did you mean "path"/],
  ])('refuses %o at startup', (options, message) => {
    expect(() => unless(authenticate, options as never)).toThrow(message)
  })

  it('lists the exception in the settings of each guard it wraps', () => {
    const guard = unless([authenticate, authenticate], { path: '/health' })
    expect(guard.parts).toHaveLength(2)
    expect(guard.parts![0]!.settings).toEqual({ unless: { path: ['/health'], method: undefined } })
    expect(guard.parts![0]!.kind).toBe('authentication')
  })
})

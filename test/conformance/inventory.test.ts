import { defineGuard, type Guard } from '@apiward/core'
import type { RouteEntry } from '@apiward/core/adapter'
import { rateLimit } from '@apiward/ratelimit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

const authenticates: Guard = defineGuard(() => {}, {
  guardName: 'authenticates',
  kind: 'authentication',
  settings: { issuer: 'https://issuer.example/' },
})
const needsAdmin: Guard = defineGuard(() => {}, { guardName: 'needsAdmin', kind: 'authorization' })
const readsBody: Guard = defineGuard(() => {}, {
  guardName: 'readsBody',
  kind: 'validation',
  needsBody: true,
})

function entry(routes: readonly RouteEntry[], method: string, path: string): RouteEntry | undefined {
  return routes.find((r) => r.method === method && r.path === path)
}

describe.each(harnesses)('$name adapter: route inventory', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({
      appGuards: [rateLimit({ points: 100, duration: 60 })],
      routes: [
        { method: 'GET', path: '/open' },
        { method: 'GET', path: '/notes/:id', guards: [authenticates] },
        { method: 'POST', path: '/admin/notes', guards: [authenticates, needsAdmin, readsBody] },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
  })

  it('lists every route with its guards in the order they run, app-wide ones first', () => {
    const routes = server.routes!()
    expect(entry(routes, 'GET', '/open')?.guards.map((g) => g.name)).toEqual(['rateLimit'])
    expect(entry(routes, 'GET', '/notes/:id')?.guards.map((g) => g.name)).toEqual([
      'rateLimit',
      'authenticates',
    ])
    expect(entry(routes, 'POST', '/admin/notes')?.guards.map((g) => g.name)).toEqual([
      'rateLimit',
      'authenticates',
      'needsAdmin',
      'readsBody',
    ])
  })

  it('says what each guard decides and the settings that matter', () => {
    const guards = entry(server.routes!(), 'POST', '/admin/notes')!.guards
    expect(guards.map((g) => g.kind)).toEqual(['rate-limit', 'authentication', 'authorization', 'validation'])
    expect(guards[1]!.settings).toEqual({ issuer: 'https://issuer.example/' })
  })

  it('does not list a route that does not exist', () => {
    expect(entry(server.routes!(), 'DELETE', '/open')).toBeUndefined()
  })
})

import { claims, roles, scopes } from '@apiward/authz'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { as, authenticate, token } from './support.js'

describe.each(harnesses)('$name adapter: scopes(), roles(), claims()', (harness) => {
  let server: RunningServer
  const tokens: Record<string, string> = {}
  beforeAll(async () => {
    server = await harness.start({
      routes: [
        { method: 'GET', path: '/notes', guards: [authenticate(), scopes('notes:read')] },
        { method: 'GET', path: '/misordered', guards: [scopes('notes:read'), authenticate()] },
        { method: 'GET', path: '/admin', guards: [authenticate(), roles('admin')] },
        {
          method: 'GET',
          path: '/tenant',
          guards: [
            authenticate(),
            claims({
              tenant: 'acme',
              permissions: { includes: ['read:reports'] },
              org: async (org) => org === 'eu',
            }),
          ],
        },
      ],
    })
    tokens.reader = await token('alice', { scope: 'notes:read profile', roles: ['user'] })
    tokens.lookalike = await token('mallory', {
      scope: 'notes:readwrite notes:rea',
      roles: ['administrator', 'Admin'],
    })
    tokens.admin = await token('root', { scope: 'profile', roles: ['admin'] })
    tokens.tenant = await token('t1', {
      tenant: 'acme',
      permissions: 'read:reports write:reports',
      org: 'eu',
    })
    tokens.otherTenant = await token('t2', { tenant: 'acme', permissions: ['read:reports'], org: 'us' })
  })
  afterAll(async () => {
    await server.close()
  })

  it('allows a token with the scope and refuses a look-alike with the RFC 6750 challenge', async () => {
    expect((await send(`${server.url}/notes`, as(tokens.reader!))).status).toBe(200)
    const refused = await send(`${server.url}/notes`, as(tokens.lookalike!))
    expect(refused.status).toBe(403)
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(refused.json.code).toBe('authz.insufficient_scope')
    expect(refused.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="notes:read"',
    )
  })

  it('answers 401 with the usual challenge when scopes() runs before authentication', async () => {
    const answer = await send(`${server.url}/misordered`, as(tokens.reader!))
    expect(answer.status).toBe(401)
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('answers a request without a token 401 before any authz decision', async () => {
    const answer = await send(`${server.url}/notes`)
    expect(answer.status).toBe(401)
    expect(answer.json.code).toBe('auth.missing_token')
  })

  it('allows the exact role and refuses roles that only look like it', async () => {
    expect((await send(`${server.url}/admin`, as(tokens.admin!))).status).toBe(200)
    const refused = await send(`${server.url}/admin`, as(tokens.lookalike!))
    expect(refused.status).toBe(403)
    expect(refused.json.code).toBe('authz.forbidden')
  })

  it('checks equal, included and predicate claims', async () => {
    expect((await send(`${server.url}/tenant`, as(tokens.tenant!))).status).toBe(200)
    const refused = await send(`${server.url}/tenant`, as(tokens.otherTenant!))
    expect(refused.status).toBe(403)
    expect(refused.json.code).toBe('authz.forbidden')
  })

  it('lists each route with the authorization guards that protect it in the route inventory', () => {
    const entries = server.routes?.() ?? []
    const admin = entries.find((e) => e.method === 'GET' && e.path === '/admin')
    expect(admin?.guards.map((g) => [g.name, g.kind])).toEqual([
      ['jwt', 'authentication'],
      ['roles', 'authorization'],
    ])
    const notes = entries.find((e) => e.method === 'GET' && e.path === '/notes')
    expect(notes?.guards[1]).toMatchObject({
      name: 'scopes',
      settings: { scopes: ['notes:read'], mode: 'all' },
    })
  })
})

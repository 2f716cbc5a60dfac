import { casbin } from '@apiward/authz'
import type { GuardInput } from '@apiward/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Answer, send } from '../conformance/client.js'
import type { RouteSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { as, authenticate, token } from './support.js'

const MODEL = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && keyMatch2(r.obj, p.obj) && r.act == p.act
`

const POLICY = `
p, admin, /admin, GET
p, admin, /admin/:x, GET
p, admin, /admin/*, GET
p, user, /public/:x, GET
p, user, /public/*, GET
p, user, /notes, GET
p, user, /notes/:id, GET
p, editor, /notes/:id, PATCH
`

/** Spellings of `/admin` a client can try; which reach which route is the router's business. */
const SPELLINGS = [
  '/admin',
  '//admin',
  '/ADMIN',
  '/Admin/',
  '/admin/',
  '/admin/./x',
  '/a/../admin',
  '/%61dmin',
  '/admin%2Fx',
  '/admin;x',
  '/admin/x/',
  '/admin/x;y',
  '/public/../admin',
  '/public/..%2Fadmin',
  '/public/%2e%2e/admin',
  'http://invented.example/admin',
  'HTTP://invented.example/ADMIN/x',
]

const routesOf = (guards: GuardInput[]): RouteSpec[] =>
  (
    [
      ['GET', '/admin'],
      ['GET', '/admin/:x'],
      ['GET', '/public/:x'],
      ['GET', '/notes'],
      ['POST', '/notes'],
      ['GET', '/notes/:id'],
      ['PATCH', '/notes/:id'],
      ['DELETE', '/notes/:id'],
    ] as const
  ).map(([method, path]) => ({
    method,
    path,
    guards,
    handler: () => ({ body: { route: path, method } }),
  }))

describe.each(harnesses)('$name adapter: casbin() over HTTP', (harness) => {
  let byRoute: RunningServer
  let byPath: RunningServer
  const tokens: Record<string, string> = {}
  beforeAll(async () => {
    const routeGuard = casbin({ model: MODEL, policy: POLICY })
    const pathGuard = casbin({ model: MODEL, policy: POLICY, object: 'path' })
    await Promise.all([routeGuard.ready, pathGuard.ready])
    byRoute = await harness.start({ routes: routesOf([authenticate(), routeGuard]) })
    byPath = await harness.start({ appGuards: [authenticate(), pathGuard], routes: routesOf([]) })
    tokens.user = await token('ursula', { roles: ['user'] })
    tokens.admin = await token('ada', { roles: ['admin'] })
    tokens.editor = await token('eddie', { roles: ['user', 'editor'] })
    tokens.exEditor = await token('eddie', { roles: ['user'] })
  })
  afterAll(async () => {
    await Promise.all([byRoute.close(), byPath.close()])
  })

  for (const [label, server] of [
    ['the route pattern', () => byRoute],
    ['the path, app-wide', () => byPath],
  ] as const) {
    it(`lets no spelling of /admin reach an admin handler without the admin decision (object: ${label})`, async () => {
      const answers: Array<[string, Answer, Answer]> = []
      for (const target of SPELLINGS) {
        const user = await send(`${server().url}/`, { ...as(tokens.user!), target })
        const admin = await send(`${server().url}/`, { ...as(tokens.admin!), target })
        answers.push([target, user, admin])
      }
      for (const [target, user, admin] of answers) {
        expect([200, 400, 403, 404], target).toContain(user.status)
        if (user.status === 200) expect(user.json.route, target).toBe('/public/:x')
        if (admin.status === 200) {
          expect(admin.json.route, target).toMatch(/^\/admin/)
          expect(user.status, target).toBe(403)
          expect(user.json.code, target).toBe('authz.forbidden')
        }
      }
      // The plain spelling reaches the admin handler for the admin only.
      expect(answers[0]![2].status).toBe(200)
      expect(answers[0]![1].status).toBe(403)
    })
  }

  it('decides HEAD as GET', async () => {
    expect((await send(`${byRoute.url}/notes/1`, { ...as(tokens.user!), method: 'HEAD' })).status).toBe(200)
    expect((await send(`${byRoute.url}/admin`, { ...as(tokens.user!), method: 'HEAD' })).status).toBe(403)
  })

  it('never lets a method-override header or _method change the decided action', async () => {
    for (const name of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
      const post = await send(`${byRoute.url}/notes`, {
        ...as(tokens.user!, { headers: { [name]: 'GET' } }),
        method: 'POST',
      })
      expect(post.status, name).toBe(403)
      const del = await send(`${byRoute.url}/notes/1`, {
        ...as(tokens.user!, { headers: { [name]: 'GET' } }),
        method: 'DELETE',
      })
      expect(del.status, name).toBe(403)
      const get = await send(`${byRoute.url}/notes/1`, as(tokens.user!, { headers: { [name]: 'DELETE' } }))
      expect(get.status, name).toBe(200)
      expect(get.json).toEqual({ route: '/notes/:id', method: 'GET' })
    }
    const query = await send(`${byRoute.url}/notes?_method=GET`, { ...as(tokens.user!), method: 'POST' })
    expect(query.status).toBe(403)
    const body = await send(`${byRoute.url}/notes`, {
      ...as(tokens.user!, { body: '{"_method":"GET"}' }),
      method: 'POST',
    })
    expect(body.status).toBe(403)
  })

  it('denies at once a user whose next token lost a role, with no stale memoised allow', async () => {
    const patch = (t: string) => send(`${byRoute.url}/notes/1`, { ...as(t, { body: '{}' }), method: 'PATCH' })
    expect((await patch(tokens.editor!)).status).toBe(200)
    expect((await patch(tokens.editor!)).status).toBe(200)
    const refused = await patch(tokens.exEditor!)
    expect(refused.status).toBe(403)
    expect(refused.json.code).toBe('authz.forbidden')
  })
})

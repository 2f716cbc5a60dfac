import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { type Model, newEnforcer, newModelFromString, StringAdapter } from 'casbin'
import { afterAll, describe, expect, it } from 'vitest'
import { type CasbinOptions, casbin } from '../src/index.js'
import {
  ABAC,
  ABAC_ATTRIBUTES,
  ABAC_ATTRIBUTES_POLICY,
  ABAC_POLICY,
  DENY_OVERRIDE,
  DENY_POLICY,
  DOMAINS,
  DOMAINS_POLICY,
  RBAC,
  RBAC_POLICY,
  REGEX,
  REGEX_POLICY,
  ROLES_ATTRIBUTE,
} from './models.js'
import { context, denial, outcome, type RequestSpec, user } from './support.js'

const dir = mkdtempSync(join(tmpdir(), 'apiward-casbin-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
function file(text: string): string {
  const path = join(dir, `f${files++}.txt`)
  writeFileSync(path, text)
  return path
}

async function ready(options: CasbinOptions) {
  const guard = casbin(options)
  await guard.ready
  return guard
}

const req = (id: string, spec: RequestSpec = {}, roles: string[] = []) =>
  context({ method: 'GET', path: '/notes/1', route: '/notes/:id', principal: user(id, { roles }), ...spec })

describe('casbin() model styles', () => {
  it('decides RBAC with the policy groupings and the roles of the principal as subjects', async () => {
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY })
    expect(await outcome(rbac, req('alice'))).toBeUndefined()
    expect(await outcome(rbac, req('alice', { method: 'PATCH' }))).toBeUndefined()
    expect(await outcome(rbac, req('bob', {}, ['reader']))).toBeUndefined()
    expect((await denial(rbac, req('bob', { method: 'PATCH' }, ['reader']))).code).toBe('authz.forbidden')
    expect((await denial(rbac, req('carol'))).status).toBe(403)
  })

  it('reads model and policy from files', async () => {
    const rbac = await ready({ model: file(RBAC), policy: file(RBAC_POLICY) })
    expect(await outcome(rbac, req('alice'))).toBeUndefined()
    expect((await denial(rbac, req('carol'))).status).toBe(403)
  })

  it('lets an explicit deny win over any allow, of the principal or of one of its roles', async () => {
    const deny = await ready({ model: DENY_OVERRIDE, policy: DENY_POLICY })
    expect(await outcome(deny, req('erin', { method: 'DELETE' }, ['editor']))).toBeUndefined()
    expect((await denial(deny, req('mallory', { method: 'DELETE' }, ['editor']))).status).toBe(403)
    expect((await denial(deny, req('erin', { method: 'GET' }, ['editor', 'suspended']))).status).toBe(403)
    expect((await denial(deny, req('erin', { method: 'GET' }, ['suspended', 'editor']))).status).toBe(403)
  })

  it('decides RBAC with domains from the domain function, and refuses a request without one', async () => {
    const tenant = (ctx: { req: { header(n: string): string | undefined } }) => ctx.req.header('x-tenant')
    const domains = await ready({ model: DOMAINS, policy: DOMAINS_POLICY, domain: tenant })
    const at = (id: string, dom: string | undefined, method = 'GET') =>
      req(id, {
        path: '/projects/p1',
        route: '/projects/:id',
        method,
        headers: dom === undefined ? {} : { 'x-tenant': dom },
      })
    expect(await outcome(domains, at('alice', 'acme'))).toBeUndefined()
    expect((await denial(domains, at('alice', 'globex'))).status).toBe(403)
    expect(await outcome(domains, at('bob', 'globex', 'DELETE'))).toBeUndefined()
    expect((await denial(domains, at('bob', 'acme', 'DELETE'))).status).toBe(403)
    expect((await denial(domains, at('alice', undefined))).status).toBe(403)
  })

  it('matches regexMatch routes on the path as the router compares it', async () => {
    const regex = await ready({ model: REGEX, policy: REGEX_POLICY, object: 'path' })
    const at = (path: string, method = 'GET') => req('ann', { path, method, route: undefined }, ['auditor'])
    expect(await outcome(regex, at('/reports/42'))).toBeUndefined()
    expect(await outcome(regex, at('/REPORTS/42'))).toBeUndefined()
    expect(await outcome(regex, at('/reports/42', 'POST'))).toBeUndefined()
    expect((await denial(regex, at('/reports/42', 'DELETE'))).status).toBe(403)
    expect((await denial(regex, at('/reports/42x'))).status).toBe(403)
    expect((await denial(regex, at('/reports/42/../../admin'))).status).toBe(403)
  })

  it('decides keyMatch2 on the route pattern by default and on the path with object: path', async () => {
    const policy = 'p, reader, /notes/:id, GET\np, reader, /files/*, GET'
    const byRoute = await ready({ model: RBAC, policy })
    const byPath = await ready({ model: RBAC, policy, object: 'path' })
    const ctx = () => req('r', { path: '/notes/7', route: '/notes/:id' }, ['reader'])
    expect(await outcome(byRoute, ctx())).toBeUndefined()
    expect(await outcome(byPath, ctx())).toBeUndefined()
    const nested = () => req('r', { path: '/files/a/b', route: '/files/:rest' }, ['reader'])
    expect(await outcome(byPath, nested())).toBeUndefined()
    expect(
      (await denial(byRoute, req('r', { path: '/notes/7/x', route: '/notes/:id/x' }, ['reader']))).status,
    ).toBe(403)
  })

  it('keeps an encoded slash in its segment, as routers do, so ..%2F climbs nowhere', async () => {
    const guard = await ready({
      model: RBAC,
      policy: 'p, admin, /admin, GET\np, user, /public/*, GET',
      object: 'path',
    })
    const at = (path: string, roles: string[]) => req('x', { path, route: undefined }, roles)
    expect((await denial(guard, at('/public/..%2Fadmin', ['admin']))).status).toBe(403)
    expect((await denial(guard, at('/public/..%5cadmin', ['admin']))).status).toBe(403)
    expect(await outcome(guard, at('/public/..%2Fadmin', ['user']))).toBeUndefined()
    expect(await outcome(guard, at('/public/a/../../admin', ['admin']))).toBeUndefined()
  })

  it('passes the roles as one request value when the model asks for them', async () => {
    const guard = await ready({ model: ROLES_ATTRIBUTE, policy: 'p, reader, /notes/:id, GET' })
    expect(await outcome(guard, req('x', {}, ['reader']))).toBeUndefined()
    expect((await denial(guard, req('x', {}, ['writer']))).status).toBe(403)
  })

  it('keeps the roles of the token apart from user ids with rolePrefix', async () => {
    const policy = 'p, alice, /notes/:id, GET\np, role:reader, /notes/:id, PATCH'
    const plain = await ready({ model: RBAC, policy })
    expect(await outcome(plain, req('mallory', {}, ['alice']))).toBeUndefined()
    const prefixed = await ready({ model: RBAC, policy, rolePrefix: 'role:' })
    expect((await denial(prefixed, req('mallory', {}, ['alice']))).status).toBe(403)
    expect(await outcome(prefixed, req('mallory', { method: 'PATCH' }, ['reader']))).toBeUndefined()
    expect(() => casbin({ model: RBAC, policy, rolePrefix: 'role: ' })).toThrow(
      /rolePrefix must be a string without spaces/,
    )
  })

  it("decides on the id alone with roles: 'none'", async () => {
    const guard = await ready({ model: RBAC, policy: RBAC_POLICY, roles: 'none' })
    expect(await outcome(guard, req('alice'))).toBeUndefined()
    expect((await denial(guard, req('bob', {}, ['reader']))).status).toBe(403)
  })
})

describe('casbin() actions', () => {
  it('decides HEAD as GET', async () => {
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY })
    expect(await outcome(rbac, req('bob', { method: 'HEAD' }, ['reader']))).toBeUndefined()
  })

  it('never lets a method-override header or parameter change the action', async () => {
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY })
    for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override']) {
      const ctx = req('bob', { method: 'PATCH', headers: { [name]: 'GET' } }, ['reader'])
      expect((await denial(rbac, ctx)).status).toBe(403)
    }
    expect(
      (
        await denial(
          rbac,
          req('bob', { method: 'PATCH', query: { _method: 'GET' }, body: { _method: 'GET' } }, ['reader']),
        )
      ).status,
    ).toBe(403)
  })
})

describe('casbin() memo', () => {
  it('memoises decisions, and a memoised decision is synchronous', async () => {
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY })
    expect(rbac.memoised).toBe(true)
    expect(rbac(req('alice'))).toBeUndefined()
    expect(rbac(req('alice'))).toBeUndefined()
    expect(() => rbac(req('carol'))).toThrow(expect.objectContaining({ status: 403 }))
    expect(() => rbac(req('carol'))).toThrow(expect.objectContaining({ status: 403 }))
  })

  it('denies at once a user whose next token lost a role', async () => {
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY })
    expect(await outcome(rbac, req('dave', { method: 'PATCH' }, ['editor']))).toBeUndefined()
    expect((await denial(rbac, req('dave', { method: 'PATCH' }, ['reader']))).status).toBe(403)
    expect((await denial(rbac, req('dave', { method: 'PATCH' }, []))).status).toBe(403)
  })

  it('keys the memo so that no id or role list can spell the key of another request', async () => {
    const rbac = await ready({ model: RBAC, policy: 'p, reader, /notes/:id, GET\np, alice, /notes/:id, GET' })
    expect(await outcome(rbac, req('x', {}, ['reader', 'zed']))).toBeUndefined()
    expect((await denial(rbac, req('x', {}, ['reader\u0001zed']))).status).toBe(403)
    expect((await denial(rbac, req('x', {}, ['reader","zed']))).status).toBe(403)
    expect(await outcome(rbac, req('alice'))).toBeUndefined()
    expect((await denial(rbac, req('alice\u0000', { path: '/notes/1' }))).status).toBe(403)
  })

  it('holds a bounded number of decisions, and decides the same once it starts over', async () => {
    const { DecisionMemo } = await import('../src/decision-memo.js')
    const memo = new DecisionMemo(2)
    memo.setRequest('a', '', '/x', 'GET', '', true)
    memo.setRequest('b', '', '/x', 'GET', '', false)
    expect([memo.getRequest('a', '', '/x', 'GET', ''), memo.getRequest('b', '', '/x', 'GET', '')]).toEqual([
      true,
      false,
    ])
    memo.setRequest('c', '', '/x', 'GET', '', true)
    expect(memo.size).toBeLessThanOrEqual(2)
    expect(memo.getRequest('c', '', '/x', 'GET', '')).toBe(true)
    // Values are compared one by one: no two requests can meet on one key.
    memo.setRequest('a', '', 'b/x', 'GET', '', true)
    expect(memo.getRequest('ab', '', '/x', 'GET', '')).toBeUndefined()
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY, cache: { max: 2 } })
    for (let i = 0; i < 3; i++) {
      expect(rbac(req('alice'))).toBeUndefined()
      expect(() => rbac(req('carol'))).toThrow(expect.objectContaining({ status: 403 }))
      expect(() => rbac(req(`user-${i}`))).toThrow(expect.objectContaining({ status: 403 }))
    }
  })

  it('does not memoise an ABAC model without a key function', async () => {
    const abac = await ready({
      model: ABAC,
      policy: ABAC_POLICY,
      attributes: (ctx) => ({ owner: ctx.req.header('x-owner') }),
    })
    expect(abac.memoised).toBe(false)
    const at = (owner: string) =>
      req('alice', { path: '/docs/1', route: '/docs/:id', headers: { 'x-owner': owner } })
    expect(await outcome(abac, at('alice'))).toBeUndefined()
    expect((await denial(abac, at('bob'))).status).toBe(403)
    expect(await outcome(abac, at('alice'))).toBeUndefined()
  })

  it('does not memoise a model whose matcher reads attributes of a request value', async () => {
    const abac = await ready({
      model: ABAC_ATTRIBUTES,
      policy: ABAC_ATTRIBUTES_POLICY,
      attributes: (_ctx, principal) => ({ who: principal.claims }),
    })
    expect(abac.memoised).toBe(false)
    const at = (dept: string) =>
      context({
        method: 'GET',
        path: '/builds/1',
        route: '/builds/:id',
        principal: user('u', { claims: { dept } }),
      })
    expect(await outcome(abac, at('eng'))).toBeUndefined()
    expect((await denial(abac, at('sales'))).status).toBe(403)
  })

  it('memoises an ABAC model under the key function it is given', async () => {
    let keys = 0
    const abac = await ready({
      model: ABAC,
      policy: ABAC_POLICY,
      attributes: (ctx) => ({ owner: ctx.req.header('x-owner') }),
      cacheKey: (_ctx, request) => {
        keys++
        return JSON.stringify(request)
      },
    })
    expect(abac.memoised).toBe(true)
    const at = (owner: string) =>
      req('alice', { path: '/docs/1', route: '/docs/:id', headers: { 'x-owner': owner } })
    expect(abac(at('alice'))).toBeUndefined()
    expect(() => abac(at('bob'))).toThrow(expect.objectContaining({ status: 403 }))
    expect(abac(at('alice'))).toBeUndefined()
    expect(keys).toBe(3)
  })

  it('decides every request with cache: false', async () => {
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY, cache: false })
    expect(rbac.memoised).toBe(false)
    expect(await outcome(rbac, req('alice'))).toBeUndefined()
  })
})

describe('casbin() sources', () => {
  it('takes any casbin adapter', async () => {
    const guard = await ready({ model: RBAC, adapter: new StringAdapter(RBAC_POLICY) })
    expect(await outcome(guard, req('alice'))).toBeUndefined()
  })

  it('takes a ready enforcer, which cannot be reloaded', async () => {
    const enforcer = await newEnforcer(newModelFromString(RBAC), new StringAdapter(RBAC_POLICY))
    const guard = await ready({ enforcer })
    expect(await outcome(guard, req('alice'))).toBeUndefined()
    await expect(guard.reload()).rejects.toThrow(/cannot be reloaded/)
  })

  it('builds a fresh enforcer from an enforcer function at each reload', async () => {
    let builds = 0
    const guard = await ready({
      enforcer: () => {
        builds++
        return newEnforcer(newModelFromString(RBAC), new StringAdapter(RBAC_POLICY))
      },
    })
    expect(await guard.reload()).toBe(2)
    expect(builds).toBe(2)
    expect(await outcome(guard, req('alice'))).toBeUndefined()
  })

  it('decides a model with an async matching function the async way, and still refuses', async () => {
    const model = RBAC.replace('r.act == p.act', 'r.act == p.act && open(r.obj)')
    const guard = await ready({
      enforcer: async () => {
        const enforcer = await newEnforcer(newModelFromString(model), new StringAdapter(RBAC_POLICY))
        await enforcer.addFunction('open', async (obj: string) => obj !== '/closed/:id')
        return enforcer
      },
    })
    const first = guard(req('alice'))
    expect(first).toBeInstanceOf(Promise)
    await expect(first).resolves.toBeUndefined()
    expect((await denial(guard, req('carol'))).status).toBe(403)
    expect((await denial(guard, req('alice', { path: '/closed/1', route: '/closed/:id' }))).status).toBe(403)
  })

  it('never reads the promise of an async function as a value, even where a sync matcher would not fail', async () => {
    const model = DENY_OVERRIDE.replace(
      '(r.act == p.act || p.act == "*")',
      '(r.act == p.act || p.act == "*") && !exempt(r.sub)',
    )
    const guard = await ready({
      enforcer: async () => {
        const enforcer = await newEnforcer(newModelFromString(model), new StringAdapter(DENY_POLICY))
        await enforcer.addFunction('exempt', async () => false)
        return enforcer
      },
    })
    expect((await denial(guard, req('erin', { method: 'GET' }, ['editor', 'suspended']))).status).toBe(403)
    expect(await outcome(guard, req('erin', { method: 'GET' }, ['editor']))).toBeUndefined()
  })

  it('decides requests that arrive before the policy loaded once it has', async () => {
    const guard = casbin({ model: RBAC, policy: file(RBAC_POLICY) })
    const early = guard(req('alice'))
    expect(early).toBeInstanceOf(Promise)
    await expect(early).resolves.toBeUndefined()
    expect((await denial(guard, req('carol'))).status).toBe(403)
  })

  it('answers 503 authz.unavailable while no policy ever loaded, and recovers on a reload', async () => {
    const bus = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    bus.on((e) => seen.push(e))
    let fail = true
    const guard = casbin({
      model: RBAC,
      events: bus,
      enforcer: undefined,
      adapter: {
        loadPolicy: async (model: Model) => {
          if (fail) throw new Error('database unreachable')
          await new StringAdapter(RBAC_POLICY).loadPolicy(model)
        },
      } as never,
    })
    await expect(guard.ready).rejects.toThrow('database unreachable')
    const err = await denial(guard, req('alice'))
    expect(err.status).toBe(503)
    expect(err.code).toBe('authz.unavailable')
    expect(err.detail).not.toMatch(/database/)
    expect(seen[0]).toMatchObject({ type: 'authz.reload_failed', policyVersion: 0, trigger: 'startup' })
    fail = false
    expect(await guard.reload()).toBe(1)
    expect(await outcome(guard, req('alice'))).toBeUndefined()
  })
})

describe('casbin() reload', () => {
  it('swaps in a reloaded policy, clears the memo and reports the new version', async () => {
    const policy = file('p, alice, /notes/:id, GET')
    const bus = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    bus.on((e) => seen.push(e))
    const guard = await ready({ model: RBAC, policy, events: bus })
    expect(guard.policyVersion).toBe(1)
    expect(guard(req('alice'))).toBeUndefined()
    writeFileSync(policy, 'p, bob, /notes/:id, GET')
    expect(await guard.reload()).toBe(2)
    expect(() => guard(req('alice'))).toThrow(expect.objectContaining({ status: 403 }))
    expect(guard(req('bob'))).toBeUndefined()
    expect(seen.map((e) => [e.type, e.policyVersion, e.trigger])).toEqual([
      ['authz.reloaded', 1, 'startup'],
      ['authz.reloaded', 2, 'reload'],
    ])
    expect(seen[1]).toMatchObject({ rules: 1 })
  })

  it('keeps the old policy when a reload fails, and says so', async () => {
    const policy = file('p, alice, /notes/:id, GET')
    const bus = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    bus.on((e) => seen.push(e))
    const guard = await ready({ model: RBAC, policy, events: bus })
    for (const broken of ['p, alice, /notes/:id', 'P, alice, /notes/:id, GET', undefined]) {
      if (broken === undefined) rmSync(policy)
      else writeFileSync(policy, `p, bob, /notes/:id, GET\n${broken}`)
      await expect(guard.reload()).rejects.toThrow()
      expect(guard.policyVersion).toBe(1)
      expect(guard(req('alice'))).toBeUndefined()
      expect(() => guard(req('bob'))).toThrow(expect.objectContaining({ status: 403 }))
    }
    expect(seen.filter((e) => e.type === 'authz.reload_failed')).toHaveLength(3)
    expect(seen.at(-1)).toMatchObject({ type: 'authz.reload_failed', policyVersion: 1, trigger: 'reload' })
  })

  it('makes not one wrong decision while the policy reloads under concurrent load', async () => {
    // A large policy whose rules for alice and bob come last: a policy seen half loaded would deny them.
    const filler = Array.from({ length: 1500 }, (_, i) => `p, user${i}, /notes/:id, GET`).join('\n')
    const withCarol = file(
      `${filler}\np, alice, /notes/:id, GET\np, bob, /notes/:id, GET\np, carol, /notes/:id, GET`,
    )
    const withoutCarol = file(`${filler}\np, alice, /notes/:id, GET\np, bob, /notes/:id, GET`)
    const policy = file(`${filler}\np, alice, /notes/:id, GET\np, bob, /notes/:id, GET`)
    const { readFileSync } = await import('node:fs')
    const texts = [readFileSync(withCarol, 'utf8'), readFileSync(withoutCarol, 'utf8')]
    const guard = await ready({ model: RBAC, policy, cache: { max: 2 } })
    let wrong = 0
    let decided = 0
    let running = true
    const hammer = async (id: string, roles: string[]) => {
      while (running) {
        const err = await outcome(guard, req(id, { path: `/notes/${decided % 50}` }, roles))
        decided++
        if (err !== undefined) wrong++
        await new Promise((r) => setImmediate(r))
      }
    }
    const workers = [hammer('alice', []), hammer('bob', ['x']), hammer('alice', ['y']), hammer('bob', [])]
    for (let i = 0; i < 10; i++) {
      writeFileSync(policy, texts[i % 2]!)
      await guard.reload()
    }
    running = false
    await Promise.all(workers)
    expect(guard.policyVersion).toBe(11)
    expect(decided).toBeGreaterThan(20)
    expect(wrong).toBe(0)
  })

  it('runs reloads one after another, each ending on a complete policy', async () => {
    const guard = await ready({ model: RBAC, policy: file(RBAC_POLICY) })
    const versions = await Promise.all([guard.reload(), guard.reload(), guard.reload()])
    expect(versions).toEqual([2, 3, 4])
  })
})

describe('casbin() failures and answers', () => {
  it('answers 401 without a principal', async () => {
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY })
    const err = await denial(rbac, context({ method: 'GET', path: '/notes/1' }))
    expect(err.status).toBe(401)
    expect(err.headers?.['WWW-Authenticate']).toBe('Bearer realm="api"')
  })

  it('emits authz.denied with subject, object, action and policy version', async () => {
    const rbac = await ready({ model: RBAC, policy: RBAC_POLICY })
    const ctx = req('carol', { method: 'HEAD' })
    await denial(rbac, ctx)
    expect(ctx.seen).toEqual([
      expect.objectContaining({
        type: 'authz.denied',
        guard: 'casbin',
        reason: 'policy',
        subject: 'carol',
        object: '/notes/:id',
        action: 'GET',
        policyVersion: 1,
      }),
    ])
  })

  it('answers 500 without internals when the engine fails, and never memoises it', async () => {
    const broken = RBAC.replace('keyMatch2(r.obj, p.obj)', 'noSuchFunction(r.obj, p.obj)')
    const guard = await ready({ model: broken, policy: RBAC_POLICY })
    for (let i = 0; i < 2; i++) {
      const ctx = req('alice')
      const err = await denial(guard, ctx)
      expect(err.status).toBe(500)
      expect(err.code).toBe('server.internal')
      expect(ctx.seen[0]).toMatchObject({ type: 'authz.error', callback: 'enforce', policyVersion: 1 })
    }
  })

  it('answers 500 when a subject or object function misbehaves', async () => {
    const bad = await ready({ model: RBAC, policy: RBAC_POLICY, subject: () => 42 as unknown as string })
    expect((await denial(bad, req('alice'))).status).toBe(500)
    const throws = await ready({
      model: RBAC,
      policy: RBAC_POLICY,
      object: () => {
        throw new Error('boom')
      },
    })
    expect((await denial(throws, req('alice'))).status).toBe(500)
  })

  it('uses the subject function for the subject', async () => {
    const guard = await ready({ model: RBAC, policy: RBAC_POLICY, subject: (p) => p.id.replace(/^u-/, '') })
    expect(await outcome(guard, req('u-alice'))).toBeUndefined()
  })
})

describe('casbin() options, checked at startup', () => {
  it('refuses a missing or double source', async () => {
    const enforcer = await newEnforcer(newModelFromString(RBAC), new StringAdapter(RBAC_POLICY))
    expect(() => casbin({})).toThrow(/give a model/)
    expect(() => casbin({ model: RBAC })).toThrow(/give the policy .* or a casbin adapter/)
    expect(() => casbin({ model: RBAC, policy: RBAC_POLICY, adapter: new StringAdapter('') })).toThrow(
      /one of them/,
    )
    expect(() => casbin({ enforcer, model: RBAC })).toThrow(/not both/)
    expect(() => casbin({ model: '/no/such/model.conf', policy: RBAC_POLICY })).toThrow(
      /model file "\/no\/such\/model.conf" does not exist/,
    )
    expect(() => casbin({ model: RBAC, policy: '/no/such/policy.csv' })).toThrow(/policy file/)
    expect(() => casbin({ enforcer: {} as never })).toThrow(/casbin Enforcer/)
  })

  it('refuses a model it cannot fill, and policy text casbin would load in part', () => {
    expect(() => casbin({ model: DOMAINS, policy: DOMAINS_POLICY })).toThrow(/request has dom: give domain/)
    expect(() => casbin({ model: RBAC, policy: RBAC_POLICY, domain: () => 'x' })).toThrow(/no dom token/)
    expect(() => casbin({ model: ABAC, policy: ABAC_POLICY })).toThrow(/request has owner: give attributes/)
    expect(() => casbin({ model: RBAC, policy: RBAC_POLICY, roles: 'attribute' })).toThrow(
      /needs a roles token/,
    )
    expect(() =>
      casbin({ model: RBAC.replace('sub, obj, act\n', 'sub, act\n'), policy: RBAC_POLICY }),
    ).toThrow(/must name sub, obj and act/)
    expect(() => casbin({ model: RBAC, policy: 'p, alice, /x' })).toThrow(
      /line 1: a "p" rule has 3 fields, this one 2/,
    )
    expect(() => casbin({ model: RBAC, policy: 'q, alice, /x, GET' })).toThrow(/"q" is not a policy type/)
    expect(() => casbin({ model: '[request_definition]\nr = sub', policy: 'p, a' })).toThrow(TypeError)
  })

  it('refuses a watcher that cannot reload, unknown options and bad values', async () => {
    const enforcer = await newEnforcer(newModelFromString(RBAC), new StringAdapter(RBAC_POLICY))
    const watcher = { setUpdateCallback: () => {}, update: async () => true }
    expect(() => casbin({ enforcer, watcher })).toThrow(/a ready enforcer instance cannot do/)
    expect(() => casbin({ model: RBAC, policy: RBAC_POLICY, watcher: {} as never })).toThrow(
      /watcher must be a casbin watcher/,
    )
    expect(() => casbin({ model: RBAC, policy: RBAC_POLICY, cache: { max: 0 } })).toThrow(
      /cache.max must be a positive integer/,
    )
    expect(() => casbin({ model: RBAC, policy: RBAC_POLICY, object: 'url' as 'path' })).toThrow(
      /object must be/,
    )
    expect(() => casbin({ model: RBAC, policyPath: 'x' } as never)).toThrow(
      /unknown option "policyPath"; did you mean "policy"/,
    )
    expect(() => casbin({ model: RBAC, policy: RBAC_POLICY, roles: 'groups' as 'none' })).toThrow(
      /roles must be/,
    )
  })

  it('says what it decides for route inventories', () => {
    const guard = casbin({ model: RBAC, policy: RBAC_POLICY })
    expect(guard.kind).toBe('authorization')
    expect(guard.settings).toMatchObject({ source: 'model+policy', object: 'route', cache: 10000 })
  })
})

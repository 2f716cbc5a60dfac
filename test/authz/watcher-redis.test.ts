import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type CasbinGuard, casbin } from '@apiward/authz'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { RedisWatcher, type WatcherOptions } from '@casbin/redis-watcher'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { type RedisProcess, startRedis } from '../support/redis.js'
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

const express = harnesses.find((h) => h.name === 'express5')!
const fastify = harnesses.find((h) => h.name === 'fastify5')!

describe('casbin() instances reloading through a redis-server watcher', () => {
  let redis: RedisProcess
  const dir = mkdtempSync(join(tmpdir(), 'apiward-watcher-'))
  const policy = join(dir, 'policy.csv')
  const watchers: RedisWatcher[] = []
  const servers: RunningServer[] = []
  const guards: CasbinGuard[] = []
  const seen: SecurityEvent[] = []
  let bob: string

  beforeAll(async () => {
    redis = await startRedis()
    writeFileSync(policy, 'p, alice, /notes/:id, GET')
    const bus = new SecurityEventBus()
    bus.on((e) => seen.push(e))
    for (const harness of [express, fastify]) {
      const watcher = await RedisWatcher.newWatcher({
        host: '127.0.0.1',
        port: redis.port,
        channel: 'apiward-authz',
      } as WatcherOptions)
      watchers.push(watcher)
      const guard = casbin({ model: MODEL, policy, watcher, events: bus })
      await guard.ready
      guards.push(guard)
      servers.push(
        await harness.start({
          routes: [{ method: 'GET', path: '/notes/:id', guards: [authenticate(), guard] }],
        }),
      )
    }
    bob = await token('bob')
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
    await Promise.all(watchers.map((w) => w.close()))
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('makes every instance reload when one announces a policy change', async () => {
    for (const server of servers) expect((await send(`${server.url}/notes/1`, as(bob))).status).toBe(403)
    writeFileSync(policy, 'p, alice, /notes/:id, GET\np, bob, /notes/:id, GET')
    await guards[0]!.reload()
    await watchers[0]!.update()
    await eventually(() => guards[1]!.policyVersion >= 2, 5000)
    for (const server of servers) expect((await send(`${server.url}/notes/1`, as(bob))).status).toBe(200)
    expect(seen).toContainEqual(
      expect.objectContaining({ type: 'authz.reloaded', trigger: 'watcher', policyVersion: 2 }),
    )
  })

  it('keeps the policy in use on every instance when an announced policy does not load', async () => {
    const before = guards.map((g) => g.policyVersion)
    writeFileSync(policy, 'p, bob, /notes/:id')
    await watchers[0]!.update()
    await eventually(() => seen.filter((e) => e.type === 'authz.reload_failed').length >= 2, 5000)
    expect(guards.map((g) => g.policyVersion)).toEqual(before)
    for (const server of servers) expect((await send(`${server.url}/notes/1`, as(bob))).status).toBe(200)
  })
})

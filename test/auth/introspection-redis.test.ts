import { introspection, redisIntrospectionCache } from '@apiward/auth'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { type RedisProcess, startRedis } from '../support/redis.js'
import { API_AUDIENCE, type AuthorizationServer, startAuthorizationServer } from './as-support.js'

let as: AuthorizationServer
let redis: RedisProcess
let io: Redis

beforeAll(async () => {
  as = await startAuthorizationServer()
  as.clients.set('notes-api', { id: 'notes-api', secret: 'a' })
  as.clients.set('audit-api', { id: 'audit-api', secret: 'b' })
  redis = await startRedis()
  io = new Redis({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: 1, enableOfflineQueue: false })
  io.on('error', () => {})
  await new Promise((resolve) => io.once('ready', resolve))
})
afterAll(async () => {
  io.disconnect()
  await redis.stop()
  await as.close()
})

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } })
const introspections = () => as.hits['/introspect'] ?? 0

const pairs = harnesses.map((first, i) => {
  const second = harnesses[(i + 3) % harnesses.length]!
  return { name: `${first.name} and ${second.name}`, first, second }
})

describe.each(pairs)('an introspection cache in Redis shared by $name', ({ first, second }) => {
  let a: RunningServer
  let b: RunningServer
  let other: RunningServer
  let nodeRedis: ReturnType<typeof createClient>
  const events: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  const prefix = `test:${first.name}:`

  const guard = (store: ReturnType<typeof redisIntrospectionCache>, clientId = 'notes-api', secret = 'a') =>
    introspection({
      issuer: as.root.issuer,
      clientId,
      clientAuthentication: { method: 'client_secret_post', clientSecret: secret },
      audience: API_AUDIENCE,
      cache: { store, ttl: 30 },
      events: bus,
    })

  beforeAll(async () => {
    nodeRedis = createClient({ socket: { host: '127.0.0.1', port: redis.port, reconnectStrategy: 50 } })
    nodeRedis.on('error', () => {})
    await nodeRedis.connect()
    const viaIoredis = redisIntrospectionCache({ client: io, prefix })
    const viaNodeRedis = redisIntrospectionCache({ client: nodeRedis, prefix })
    a = await first.start({
      events: bus,
      routes: [{ method: 'GET', path: '/me', guards: [guard(viaIoredis)] }],
    })
    b = await second.start({
      events: bus,
      routes: [{ method: 'GET', path: '/me', guards: [guard(viaNodeRedis)] }],
    })
    other = await second.start({
      events: bus,
      routes: [{ method: 'GET', path: '/me', guards: [guard(viaNodeRedis, 'audit-api', 'b')] }],
    })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await other?.close()
    await nodeRedis?.quit().catch(() => {})
  })

  it('lets the second instance reuse what the first learnt, active and inactive alike', async () => {
    const token = as.issue()
    const before = introspections()
    const first = await send(`${a.url}/me`, bearer(token))
    expect(first.status).toBe(200)
    const second = await send(`${b.url}/me`, bearer(token))
    expect(second.status).toBe(200)
    expect(second.json.auth).toEqual(first.json.auth)
    expect((await send(`${a.url}/me`, bearer('never-issued'))).status).toBe(401)
    expect((await send(`${b.url}/me`, bearer('never-issued'))).status).toBe(401)
    expect(introspections() - before).toBe(2)
  })

  it('keeps hashes, not tokens, and no entry past the token exp', async () => {
    const exp = Math.floor(Date.now() / 1000) + 4
    const token = as.issue({ exp })
    expect((await send(`${a.url}/me`, bearer(token))).status).toBe(200)
    const keys = await io.keys(`${prefix}*`)
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) {
      expect(key).not.toContain(token)
      expect(await io.get(key)).not.toContain(token)
    }
    const ttls = await Promise.all(keys.map((k) => io.pttl(k)))
    expect(Math.min(...ttls)).toBeLessThanOrEqual(4000)
    expect(Math.max(...ttls)).toBeLessThanOrEqual(30_000)
  })

  it('does not share answers between clients of the server', async () => {
    const token = as.issue()
    const before = introspections()
    expect((await send(`${a.url}/me`, bearer(token))).status).toBe(200)
    expect((await send(`${other.url}/me`, bearer(token))).status).toBe(200)
    expect(introspections() - before).toBe(2)
  })

  it('introspects every request while Redis is down, and shares again once it is back', async () => {
    const token = as.issue()
    await redis.kill()
    try {
      const before = { calls: introspections(), events: events.length }
      for (const url of [a.url, b.url]) expect((await send(`${url}/me`, bearer(token))).status).toBe(200)
      expect(introspections() - before.calls).toBe(2)
      const degraded = events.slice(before.events).filter((e) => e.type === 'auth.error')
      expect(degraded.length).toBeGreaterThanOrEqual(2)
      expect(degraded[0]).toMatchObject({ code: 'auth.cache_unavailable', severity: 'warn' })
    } finally {
      await redis.restart()
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    const fresh = as.issue()
    const before = introspections()
    expect((await send(`${a.url}/me`, bearer(fresh))).status).toBe(200)
    expect((await send(`${b.url}/me`, bearer(fresh))).status).toBe(200)
    expect(introspections() - before).toBe(1)
  })
})

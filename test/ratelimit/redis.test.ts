import { apiKey, generateApiKey } from '@apiward/auth'
import { bruteForce, type OnStoreFailure, rateLimit, redisStore } from '@apiward/ratelimit'
import { Redis, type RedisOptions } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Answer, eventually, send, sleep } from '../conformance/client.js'
import type { AppSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { type RedisProcess, startRedis } from '../support/redis.js'
import { startDelayProxy } from './delay-proxy.js'
import {
  byStatus,
  concurrently,
  HANG_MS,
  hasRetryAfter,
  inSequence,
  isProblem,
  json,
  recordingBus,
  via,
  watchUnhandled,
} from './support.js'

const sharedKey = generateApiKey({ prefix: 'sk_live' })
const apiKeys = apiKey({ prefix: 'sk_live', keys: [{ id: sharedKey.id, hash: sharedKey.hash }] })

let redis: RedisProcess
const closers: Array<() => unknown> = []
const unhandled = watchUnhandled()

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  for (const close of closers.reverse()) await close()
  await redis.stop()
  unhandled.stop()
  expect(unhandled.rejections).toEqual([])
})

/** An ioredis client as the docs recommend, reconnecting quickly so tests stay short. */
async function ioredis(url = redis.url, options: RedisOptions = {}) {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
    ...options,
  })
  client.on('error', () => {})
  closers.push(() => client.disconnect())
  if (client.status !== 'ready') await new Promise((r) => client.once('ready', r))
  return client
}

async function nodeRedis() {
  const client = createClient({ url: redis.url, socket: { reconnectStrategy: 50 } })
  await client.connect()
  closers.push(() => client.destroy())
  return client
}

describe.each(harnesses)('Redis-backed limits through $name', (harness) => {
  const start = async (spec: AppSpec) => {
    const server: RunningServer = await harness.start(spec)
    closers.push(() => server.close())
    return server.url
  }
  const route = (guards: AppSpec['routes'][number]['guards'], extra: Partial<AppSpec> = {}) =>
    start({ trustProxy: 1, ...extra, routes: [{ method: 'GET', path: '/r', guards }] })

  it('lets exactly N of 100 concurrent requests through a limit of N, with ioredis and with node-redis', async () => {
    for (const [kind, client] of [
      ['io', await ioredis()],
      ['node', await nodeRedis()],
    ] as const) {
      // Counting is under test here, not timeouts: a loaded CI machine must not turn into an outage.
      const store = redisStore({ client, timeoutMs: 2000 })
      const guard = rateLimit({
        name: `n-of-100-${kind}-${harness.name}`,
        points: 10,
        duration: 60,
        store,
        onStoreFailure: 'fail-closed',
      })
      const url = await route([guard])
      const answers = await concurrently(100, `${url}/r`)
      expect(byStatus(answers), kind).toEqual({ 200: 10, 429: 90 })
      expect(
        answers
          .filter((a) => a.status === 429)
          .every((a) => isProblem(a, 429, 'ratelimit.exceeded') && hasRetryAfter(a)),
      ).toBe(true)
    }
  })

  it('consumes nothing in Redis for a request refused because its cost exceeds what is left', async () => {
    for (const [kind, client] of [
      ['io', await ioredis()],
      ['node', await nodeRedis()],
    ] as const) {
      const guard = rateLimit({
        name: `cost-${kind}-${harness.name}`,
        windows: [
          { points: 20, duration: 60 },
          { points: 100, duration: 3600 },
        ],
        cost: (ctx) => Number(ctx.req.header('x-cost') ?? 1),
        store: redisStore({ client, timeoutMs: 2000 }),
        onStoreFailure: 'fail-closed',
      })
      const url = await route([guard])
      const answers = await inSequence(4, `${url}/r`, (i) => ({
        headers: { 'x-cost': String([1, 20, 1, 18][i]) },
      }))
      expect(
        answers.map((a) => a.status),
        kind,
      ).toEqual([200, 429, 200, 200])
      expect(answers[1]!.headers.ratelimit, kind).toMatch(
        /^"[^"]+-60s";r=19;t=\d+, "[^"]+-3600s";r=99;t=\d+$/,
      )
    }
  })

  it('shares one limit between two app instances on one Redis, with API keys hashed in its keys', async () => {
    const name = `shared-${harness.name}`
    const guardOf = async () =>
      rateLimit({
        name,
        key: 'apiKey',
        points: 10,
        duration: 60,
        store: redisStore({ client: await ioredis(), timeoutMs: 2000 }),
        onStoreFailure: 'fail-open',
      })
    const urls = [await route([apiKeys, await guardOf()]), await route([apiKeys, await guardOf()])]
    const spread = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        send(`${urls[i % 2]}/r`, { abortAfterMs: HANG_MS, headers: { 'X-API-Key': sharedKey.key } }),
      ),
    )
    expect(byStatus(spread)).toEqual({ 200: 10, 429: 90 })
    const admin = await ioredis()
    const keys = await admin.keys(`apiward:rl:${name}:*`)
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(/^apiward:rl:[^:]+:60:k:[A-Za-z0-9_-]{43}$/)
    expect(keys.join()).not.toContain('sk_live')
    expect(keys.join()).not.toContain(sharedKey.id)
  })

  it('shares brute-force failures between two app instances', async () => {
    const guardOf = async () =>
      bruteForce({
        name: `bf-${harness.name}`,
        maxConsecutiveFailures: 4,
        store: redisStore({ client: await ioredis(), timeoutMs: 2000 }),
        onStoreFailure: 'fail-closed',
      })
    const handler = () => ({ status: 401, body: { ok: false } })
    const urls = await Promise.all(
      [0, 1].map(async () =>
        start({ routes: [{ method: 'POST', path: '/login', guards: [await guardOf()], handler }] }),
      ),
    )
    // Attempts count when they start, so the fifth is refused whichever instance it reaches.
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      statuses.push((await send(`${urls[i % 2]}/login`, json({ username: 'erin', password: 'nope' }))).status)
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429])
  })

  it.each(['fail-open', 'fail-closed'] as OnStoreFailure[])(
    'keeps answering by its policy while Redis is killed mid-load and restarted (%s), then limits again',
    async (policy) => {
      const { bus, events } = recordingBus()
      const client = await ioredis()
      const store = redisStore({ client, cooldownMs: 200 })
      const guard = rateLimit({
        name: `outage-${policy}-${harness.name}`,
        points: 5,
        duration: 2,
        store,
        onStoreFailure: policy,
      })
      const url = await route([guard], { events: bus })
      const answers: Answer[] = []
      let stop = false
      const worker = async (ip: string) => {
        while (!stop) answers.push(await send(`${url}/r`, { abortAfterMs: HANG_MS, ...via(ip) }))
      }
      const workers = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '2001:db8::1'].map(worker)
      await sleep(200)
      await redis.kill()
      await sleep(600)
      await redis.restart()
      await eventually(() => client.status === 'ready', 5000)
      await sleep(300)
      stop = true
      await Promise.all(workers)

      const expected = policy === 'fail-open' ? [200, 429] : [200, 429, 503]
      expect(answers.filter((a) => !expected.includes(a.status)).map((a) => a.status)).toEqual([])
      expect(answers.filter((a) => a.status === 429).every((a) => hasRetryAfter(a))).toBe(true)
      const unavailable = answers.filter((a) => a.status === 503)
      if (policy === 'fail-closed') {
        expect(unavailable.length).toBeGreaterThan(0)
        expect(unavailable.every((a) => isProblem(a, 503, 'ratelimit.unavailable') && hasRetryAfter(a))).toBe(
          true,
        )
      }
      const degraded = events.filter((e) => e.type === 'ratelimit.degraded')
      expect(degraded.length).toBeGreaterThan(0)
      expect(degraded.every((e) => e.policy === policy && e.severity === 'warn')).toBe(true)
      if (policy === 'fail-closed') expect(degraded.length).toBeGreaterThanOrEqual(unavailable.length)

      const before = events.length
      const fresh = await inSequence(6, `${url}/r`, () => via('192.0.2.99'))
      expect(fresh.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429])
      expect(events.slice(before).filter((e) => e.type === 'ratelimit.degraded')).toEqual([])
    },
  )

  it('answers at once by each policy while Redis takes 5 s to reply', async () => {
    const proxy = await startDelayProxy(redis.port)
    closers.push(() => proxy.close())
    // The client keeps ioredis' defaults (offline queue, 20 retries): the store's timeout must hold anyway.
    const client = await ioredis(proxy.url, { enableOfflineQueue: true, maxRetriesPerRequest: 20 })
    const { bus, events } = recordingBus()
    const limit = (policy: OnStoreFailure) =>
      rateLimit({
        name: `slow-${policy}-${harness.name}`,
        points: 100,
        duration: 60,
        store: redisStore({ client }),
        onStoreFailure: policy,
      })
    const url = await start({
      events: bus,
      routes: [
        { method: 'GET', path: '/open', guards: [limit('fail-open')] },
        { method: 'GET', path: '/closed', guards: [limit('fail-closed')] },
      ],
    })
    expect((await send(`${url}/open`)).status).toBe(200)
    proxy.delayMs = 5000
    const [open, closed] = await Promise.all([
      concurrently(10, `${url}/open`),
      concurrently(10, `${url}/closed`),
    ])
    expect(byStatus(open)).toEqual({ 200: 10 })
    expect(closed.every((a) => isProblem(a, 503, 'ratelimit.unavailable') && hasRetryAfter(a))).toBe(true)
    const reasons = new Set(events.filter((e) => e.type === 'ratelimit.degraded').map((e) => e.reason))
    expect(reasons.has('timeout')).toBe(true)
    expect(events.filter((e) => e.type === 'ratelimit.degraded')).toHaveLength(20)
  })
})

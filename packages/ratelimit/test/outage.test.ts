import { createServer } from 'node:net'
import { bruteForce, type OnStoreFailure, rateLimit, redisStore } from '@apiward/ratelimit'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { context, outcomeOf } from './support.js'

/** A loopback port nobody listens on: a Redis that is down. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

let down: Redis
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  down = new Redis(await closedPort(), '127.0.0.1', {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 1000,
  })
  down.on('error', () => {})
  await new Promise((r) => down.once('reconnecting', r))
})
afterAll(() => {
  down.disconnect()
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled).toEqual([])
})

const store = (instances = 1) => redisStore({ client: down, instances })

describe('rateLimit() while its Redis is down', () => {
  it('counts in memory with a share of the limit per instance when failing open, and says so', async () => {
    const guard = rateLimit({ points: 4, duration: 60, store: store(2), onStoreFailure: 'fail-open' })
    const results = []
    for (let i = 0; i < 3; i++) {
      const ctx = context()
      results.push({ err: await outcomeOf(guard, ctx), ctx })
    }
    expect(results.map((r) => r.err?.status ?? 200)).toEqual([200, 200, 429])
    expect(results[0]!.ctx.headers.ratelimit).toBe('"default";r=1;t=60')
    for (const { ctx } of results) {
      const degraded = ctx.seen.filter((e) => e.type === 'ratelimit.degraded')
      expect(degraded).toHaveLength(1)
      expect(degraded[0]).toMatchObject({ severity: 'warn', code: 'ratelimit.degraded', policy: 'fail-open' })
      expect(['not_ready', 'circuit_open']).toContain(degraded[0]!.reason)
    }
  })

  it('answers 503 ratelimit.unavailable with Retry-After when failing closed', async () => {
    const guard = rateLimit({ points: 4, duration: 60, store: store(), onStoreFailure: 'fail-closed' })
    const ctx = context()
    const err = await outcomeOf(guard, ctx)
    expect(err?.status).toBe(503)
    expect(err?.code).toBe('ratelimit.unavailable')
    expect(err?.headers?.['Retry-After']).toBe('1')
    expect(ctx.seen.map((e) => e.type)).toEqual(['ratelimit.degraded'])
    expect(ctx.seen[0]).toMatchObject({ code: 'ratelimit.unavailable', policy: 'fail-closed' })
  })

  it('consumes nothing for a refused costly request while failing open', async () => {
    const guard = rateLimit({
      points: 20,
      duration: 60,
      store: store(),
      onStoreFailure: 'fail-open',
      cost: (ctx) => Number(ctx.req.header('x-cost')),
    })
    const statuses = []
    for (const cost of [1, 20, 1]) {
      const err = await outcomeOf(guard, context({ headers: { 'x-cost': String(cost) } }))
      statuses.push(err?.status ?? 200)
    }
    expect(statuses).toEqual([200, 429, 200])
  })

  it('needs an explicit policy for a remote store', () => {
    expect(() => rateLimit({ points: 1, duration: 1, store: store() })).toThrow(/onStoreFailure is required/)
    expect(() => bruteForce({ store: store() })).toThrow(/onStoreFailure is required/)
  })
})

describe('bruteForce() while its Redis is down', () => {
  async function login(guard: ReturnType<typeof bruteForce>, status: number) {
    const ctx = context({ body: { username: 'alice' } })
    const err = await outcomeOf(guard, ctx)
    ctx.finish(err?.status ?? status, false)
    // The bookkeeping after the response is asynchronous on a remote store.
    await new Promise((r) => setImmediate(r))
    return { status: err?.status ?? status, ctx }
  }

  it.each([
    ['fail-open', [401, 401, 429]],
    ['fail-closed', [503, 503, 503]],
  ] as Array<[OnStoreFailure, number[]]>)('follows its policy (%s)', async (policy, expected) => {
    const guard = bruteForce({ maxConsecutiveFailures: 2, store: store(), onStoreFailure: policy })
    const attempts = []
    for (let i = 0; i < 3; i++) attempts.push(await login(guard, 401))
    expect(attempts.map((a) => a.status)).toEqual(expected)
    for (const { ctx } of attempts) {
      expect(ctx.seen.some((e) => e.type === 'ratelimit.degraded' && e.policy === policy)).toBe(true)
    }
  })
})

import { type Counter, type CounterState, redisStore, StoreUnavailableError } from '@apiward/ratelimit'
import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DelayProxy, startDelayProxy } from '../../../test/ratelimit/delay-proxy.js'
import { type RedisProcess, startRedis } from '../../../test/support/redis.js'

let redis: RedisProcess
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
const clients: Array<{ quit(): Promise<unknown> } | { disconnect(): unknown }> = []

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  redis = await startRedis()
})
afterAll(async () => {
  for (const c of clients) {
    if ('disconnect' in c) c.disconnect()
    else await c.quit().catch(() => {})
  }
  await redis.stop()
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled).toEqual([])
})

function ioredis(url = redis.url, options: Record<string, unknown> = {}) {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, ...options })
  client.on('error', () => {})
  clients.push(client)
  return client
}

async function nodeRedis(url = redis.url) {
  const client = createClient({ url, socket: { reconnectStrategy: 50 } })
  await client.connect()
  clients.push({ disconnect: () => client.destroy() })
  return client
}

async function ready(client: Redis) {
  if (client.status !== 'ready') await new Promise((r) => client.once('ready', r))
}

async function failureOf(promise: unknown): Promise<StoreUnavailableError | undefined> {
  try {
    await promise
    return undefined
  } catch (err) {
    expect(err).toBeInstanceOf(StoreUnavailableError)
    return err as StoreUnavailableError
  }
}

const clientKinds = [
  [
    'ioredis',
    async () => {
      const c = ioredis()
      await ready(c)
      return c
    },
  ],
  ['node-redis', () => nodeRedis()],
] as const

describe.each(clientKinds)('redisStore() with %s', (kind, connect) => {
  it('counts concurrent hits atomically: each one sees its own count', async () => {
    const store = redisStore({ client: await connect() })
    const counter = store.counter({ name: `atomic-${kind}`, points: 10, duration: 60 })
    const states = await Promise.all(
      Array.from({ length: 100 }, () => counter.hit('k', 1) as Promise<CounterState>),
    )
    const counts = states.map((s) => s.consumed).sort((a, b) => a - b)
    expect(counts).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(states.filter((s) => s.consumed <= 10)).toHaveLength(10)
  })

  it('peeks, gives back, blocks and resets', async () => {
    const store = redisStore({ client: await connect() })
    const counter: Counter = store.counter({ name: `ops-${kind}`, points: 3, duration: 60 })
    expect(await counter.peek('k')).toBeUndefined()
    await counter.hit('k', 2)
    await counter.reward('k', 1)
    expect((await counter.peek('k'))?.consumed).toBe(1)
    await counter.block('k', 120)
    const blocked = await counter.peek('k')
    expect(blocked?.consumed).toBeGreaterThan(3)
    expect(blocked!.resetAt - Date.now()).toBeGreaterThan(60_000)
    await counter.reset('k')
    expect(await counter.peek('k')).toBeUndefined()
  })

  it('takes a cost only when it fits: a refused cost consumes nothing and starts no window', async () => {
    const client = await connect()
    const store = redisStore({ client })
    const counter = store.counter({ name: `take-${kind}`, points: 20, duration: 60 })
    expect(await counter.take('k', 1)).toMatchObject({ consumed: 1 })
    expect(await counter.take('k', 20)).toMatchObject({ consumed: 1, refused: true })
    expect(await counter.take('k', 1)).toMatchObject({ consumed: 2 })
    expect((await counter.peek('k'))?.consumed).toBe(2)
    expect(await counter.take('fresh', 21)).toMatchObject({ consumed: 0, refused: true })
    expect(await counter.peek('fresh')).toBeUndefined()
  })

  it('takes atomically under concurrency: exactly the limit of 100 concurrent takes fits', async () => {
    const store = redisStore({ client: await connect() })
    const counter = store.counter({ name: `take-atomic-${kind}`, points: 10, duration: 60 })
    const states = await Promise.all(
      Array.from({ length: 100 }, () => counter.take('k', 1) as Promise<CounterState>),
    )
    expect(states.filter((s) => s.refused !== true)).toHaveLength(10)
    expect((await counter.peek('k'))?.consumed).toBe(10)
  })

  it('gives back never below zero and never to a window that is not running', async () => {
    const store = redisStore({ client: await connect() })
    const counter = store.counter({ name: `give-back-${kind}`, points: 3, duration: 60 })
    await counter.hit('k', 1)
    await counter.reward('k', 5)
    expect((await counter.peek('k'))?.consumed).toBe(0)
    await counter.reward('gone', 2)
    expect(await counter.peek('gone')).toBeUndefined()
  })

  it('gives back only to the window it took from, not to one started since', async () => {
    const store = redisStore({ client: await connect() })
    const counter = store.counter({ name: `give-back-window-${kind}`, points: 3, duration: 60 })
    const taken = (await counter.take('k', 1)) as CounterState
    await counter.reset('k')
    await counter.take('k', 2)
    await counter.reward('k', 1, { ...taken, resetAt: taken.resetAt - 5000 })
    expect((await counter.peek('k'))?.consumed).toBe(2)
    const current = (await counter.take('k', 1)) as CounterState
    await counter.reward('k', 1, current)
    expect((await counter.peek('k'))?.consumed).toBe(2)
  })

  it('writes keys under its prefix with the window as their lifetime', async () => {
    const client = await connect()
    const store = redisStore({ client, prefix: `test-${kind}:` })
    await store.counter({ name: 'ttl', points: 3, duration: 42 }).hit('who', 1)
    const admin = ioredis()
    await ready(admin)
    expect(await admin.exists(`test-${kind}:ttl:who`)).toBe(1)
    const ttl = await admin.ttl(`test-${kind}:ttl:who`)
    expect(ttl).toBeGreaterThan(30)
    expect(ttl).toBeLessThanOrEqual(42)
  })
})

describe('redisStore() beside rate-limiter-flexible', () => {
  it('keeps its own hit script when a RateLimiterRedis shares the ioredis client', async () => {
    const client = ioredis()
    await ready(client)
    const store = redisStore({ client })
    const other = new RateLimiterRedis({ storeClient: client, keyPrefix: 'theirs', points: 5, duration: 60 })
    const counter = store.counter({ name: 'beside-rlf', points: 20, duration: 60 })
    await counter.take('k', 1)
    expect(await counter.take('k', 20)).toMatchObject({ consumed: 1, refused: true })
    expect((await other.consume('k', 1)).consumedPoints).toBe(1)
  })
})

describe('redisStore() under failure', () => {
  let proxy: DelayProxy
  beforeAll(async () => {
    proxy = await startDelayProxy(redis.port)
  })
  afterAll(async () => {
    await proxy.close()
  })

  it('refuses clients of other libraries and bad options at build time', () => {
    expect(() => redisStore({ client: {} as never })).toThrow(/ioredis or node-redis/)
    expect(() => redisStore({ client: { on() {} } })).toThrow(/ioredis client/)
    const client = ioredis()
    expect(() => redisStore({ client, timeoutMs: 0 })).toThrow(/timeoutMs must be an integer/)
    expect(() => redisStore({ client, instances: 1.5 })).toThrow(/instances/)
    expect(() => redisStore({ client, keyPrefix: 'x:' } as never)).toThrow(/did you mean "prefix"/)
  })

  it('gives up on a Redis that answers after 5 s, opens the circuit, and recovers when it is fast again', async () => {
    const client = ioredis(proxy.url, { enableOfflineQueue: true, maxRetriesPerRequest: 20 })
    await ready(client)
    const store = redisStore({ client, timeoutMs: 50, cooldownMs: 300 })
    const counter = store.counter({ name: 'slow', points: 5, duration: 60 })
    await counter.hit('k', 1)
    proxy.delayMs = 5000
    const started = Date.now()
    const reasons: string[] = []
    for (let i = 0; i < 4; i++) reasons.push((await failureOf(counter.hit('k', 1)))!.reason)
    expect(reasons).toEqual(['timeout', 'timeout', 'timeout', 'circuit_open'])
    expect(Date.now() - started).toBeLessThan(5000)
    proxy.delayMs = 0
    await new Promise((r) => setTimeout(r, 5500))
    const state = (await counter.hit('k', 1)) as CounterState
    expect(state.consumed).toBeGreaterThanOrEqual(2)
  })

  it('fails at once while Redis is down and works again after it restarts', async () => {
    const io = ioredis(redis.url, { retryStrategy: () => 50 })
    await ready(io)
    const node = await nodeRedis()
    const stores = [
      redisStore({ client: io, cooldownMs: 100 }),
      redisStore({ client: node, cooldownMs: 100 }),
    ]
    const counters = stores.map((s) => s.counter({ name: 'restart', points: 5, duration: 60 }))
    for (const c of counters) await c.hit('k', 1)
    await redis.kill()
    for (const c of counters) {
      const err = await failureOf(c.hit('k', 1))
      expect(['not_ready', 'error', 'circuit_open']).toContain(err?.reason)
    }
    await redis.restart()
    for (const c of counters) {
      let state: CounterState | undefined
      for (let i = 0; i < 100 && state === undefined; i++) {
        state = await (c.hit('k', 1) as Promise<CounterState>).catch(() => undefined)
        if (state === undefined) await new Promise((r) => setTimeout(r, 50))
      }
      expect(state?.consumed).toBeGreaterThanOrEqual(1)
    }
  })
})

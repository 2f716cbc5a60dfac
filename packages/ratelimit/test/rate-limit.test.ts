import type { Principal } from '@apiward/core'
import { memoryStore, type RateLimitOptions, rateLimit } from '@apiward/ratelimit'
import { describe, expect, it } from 'vitest'
import { context, outcomeOf, principal } from './support.js'

/** The principal `apiKey()` establishes for a verified key. */
function keyHolder(keyId: string, owner = 'billing-service'): Principal {
  return {
    id: owner,
    kind: 'service',
    scopes: [],
    roles: [],
    claims: { api_key_id: keyId },
    credential: 'api_key',
  }
}

function sendMany(guard: ReturnType<typeof rateLimit>, n: number, spec: Parameters<typeof context>[0] = {}) {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) {
    try {
      guard(context(spec))
      statuses.push(200)
    } catch (err) {
      statuses.push((err as { status: number }).status)
    }
  }
  return statuses
}

describe('rateLimit() options', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no limit at all', {}, /points and duration are required/],
    ['milliseconds from express-rate-limit', { windowMs: 60_000, max: 5 }, /'max'.*points|windowMs/],
    ['a fractional duration', { points: 5, duration: 0.5 }, /duration must be an integer/],
    ['zero points', { points: 0, duration: 1 }, /points must be an integer/],
    ['both forms', { points: 1, duration: 1, windows: [{ points: 1, duration: 1 }] }, /not both/],
    ['an empty windows list', { windows: [] }, /non-empty array/],
    [
      'two windows of one length',
      {
        windows: [
          { points: 1, duration: 5 },
          { points: 9, duration: 5 },
        ],
      },
      /merge/,
    ],
    ['a name that cannot be a header token', { points: 1, duration: 1, name: 'a "b"' }, /name must be/],
    ['an unknown key source', { points: 1, duration: 1, key: 'cookie' }, /key must be/],
    ['a cost above the limit', { points: 2, duration: 1, cost: 3 }, /cost must be an integer from 0 to 2/],
    ['an invalid allowlist entry', { points: 1, duration: 1, allowlist: ['10.0.0.0/40'] }, /allowlist/],
    ['a bad IPv6 grouping', { points: 1, duration: 1, ipv6Subnet: 0 }, /ipv6Subnet/],
    [
      'IPv6 grouping by full address',
      { points: 1, duration: 1, ipv6Subnet: 128 },
      /dangerouslyAllowAnyIpv6Subnet/,
    ],
    ['IPv6 grouping of whole providers', { points: 1, duration: 1, ipv6Subnet: 16 }, /from 32 to 64/],
    [
      'a dangerous IPv6 opt-out that changes nothing',
      { points: 1, duration: 1, ipv6Subnet: 56, dangerouslyAllowAnyIpv6Subnet: true },
      /only applies to an ipv6Subnet outside 32 to 64/,
    ],
    [
      'countRefused that is not a boolean',
      { points: 1, duration: 1, countRefused: 'yes' },
      /countRefused must be/,
    ],
    ['a mistyped option name', { points: 1, duration: 1, countRefuse: true }, /did you mean "countRefused"/],
    ['an unknown option name', { points: 1, duration: 1, zzz: 1 }, /unknown option "zzz"/],
    [
      'a mistyped name in a window',
      { windows: [{ points: 1, duration: 5, nme: 'burst' }] },
      /rateLimit\(\): windows\[0\]: unknown option "nme"; did you mean "name"/,
    ],
    ['a window that is not an object', { windows: [5] }, /windows\[0\]: options must be an object/],
    [
      'the API key header of a limiter',
      { points: 1, duration: 1, key: 'apiKey', apiKeyHeader: 'X-Key' },
      /apiKey\(\)'s header option/,
    ],
    ['a store of another kind', { points: 1, duration: 1, store: {} }, /memoryStore\(\) or redisStore\(\)/],
    ['an unknown outage policy', { points: 1, duration: 1, onStoreFailure: 'retry' }, /fail-open/],
    [
      'trusting forwarded headers without ipFrom',
      { points: 1, duration: 1, dangerouslyTrustForwardedFor: true },
      /trust proxy/,
    ],
    [
      'a store of a remote kind without policy',
      { points: 1, duration: 1, store: { remote: true, counter: () => ({}) } },
      /onStoreFailure is required/,
    ],
  ]
  for (const [what, options, message] of cases) {
    it(`refuses ${what} at build time with a TypeError naming the fix`, () => {
      expect(() => rateLimit(options as RateLimitOptions)).toThrow(TypeError)
      expect(() => rateLimit(options as RateLimitOptions)).toThrow(message)
    })
  }
})

describe('rateLimit() on the memory store', () => {
  it('allows exactly the limit, then refuses with a 429 carrying Retry-After', () => {
    const guard = rateLimit({ points: 3, duration: 60 })
    expect(sendMany(guard, 5)).toEqual([200, 200, 200, 429, 429])
  })

  it('decides synchronously, with no promise per request', () => {
    const guard = rateLimit({ points: 3, duration: 60 })
    expect(guard(context())).toBeUndefined()
  })

  it('answers a refusal with code ratelimit.exceeded, Retry-After and an event', async () => {
    const guard = rateLimit({ points: 1, duration: 30 })
    guard(context())
    const ctx = context()
    const err = await outcomeOf(guard, ctx)
    expect(err?.status).toBe(429)
    expect(err?.code).toBe('ratelimit.exceeded')
    expect(Number(err?.headers?.['Retry-After'])).toBeGreaterThanOrEqual(29)
    expect(ctx.headers.ratelimit).toMatch(/^"default";r=0;t=\d+$/)
    expect(ctx.seen.map((e) => e.type)).toEqual(['ratelimit.exceeded'])
    expect(ctx.seen[0]).toMatchObject({ severity: 'warn', ip: '203.0.113.10', limiter: 'default' })
  })

  it('refuses when any window is full, with Retry-After of the window that is full', async () => {
    const guard = rateLimit({
      windows: [
        { points: 2, duration: 5 },
        { points: 100, duration: 3600 },
      ],
    })
    guard(context())
    guard(context())
    const err = await outcomeOf(guard, context())
    expect(err?.status).toBe(429)
    expect(Number(err?.headers?.['Retry-After'])).toBeLessThanOrEqual(5)
  })

  it('charges the cost of each request', () => {
    const guard = rateLimit({ points: 10, duration: 60, cost: (ctx) => (ctx.req.path === '/export' ? 5 : 1) })
    expect(sendMany(guard, 3, { path: '/export' })).toEqual([200, 200, 429])
    const free = rateLimit({ points: 1, duration: 60, cost: 0 })
    expect(sendMany(free, 4)).toEqual([200, 200, 200, 200])
  })

  it('consumes nothing for a request refused because its cost exceeds what is left', () => {
    const guard = rateLimit({ points: 20, duration: 60, cost: (ctx) => Number(ctx.req.header('x-cost')) })
    const costs = [1, 20, 1, 18, 1]
    expect(costs.flatMap((cost) => sendMany(guard, 1, { headers: { 'x-cost': String(cost) } }))).toEqual([
      200, 429, 200, 200, 429,
    ])
    const ctx = context({ headers: { 'x-cost': '20' } })
    guard(context({ headers: { 'x-cost': '0' } }))
    expect(() => guard(ctx)).toThrow()
    expect(ctx.headers.ratelimit).toMatch(/^"default";r=0;t=\d+$/)
  })

  it('shows what is left on a refusal whose cost does not fit, and lets a smaller cost through', async () => {
    const guard = rateLimit({ points: 10, duration: 60, cost: (ctx) => Number(ctx.req.header('x-cost')) })
    guard(context({ headers: { 'x-cost': '1' } }))
    const refused = context({ headers: { 'x-cost': '10' } })
    expect((await outcomeOf(guard, refused))?.status).toBe(429)
    expect(refused.headers.ratelimit).toMatch(/^"default";r=9;t=\d+$/)
    expect(await outcomeOf(guard, context({ headers: { 'x-cost': '9' } }))).toBeUndefined()
  })

  it('counts refused requests when countRefused is set, as rate-limiter-flexible does', () => {
    const guard = rateLimit({
      points: 20,
      duration: 60,
      countRefused: true,
      cost: (ctx) => Number(ctx.req.header('x-cost')),
    })
    const costs = [1, 20, 1]
    expect(costs.flatMap((cost) => sendMany(guard, 1, { headers: { 'x-cost': String(cost) } }))).toEqual([
      200, 429, 429,
    ])
  })

  it('takes nothing from any window when one window refuses', () => {
    const guard = rateLimit({
      windows: [
        { points: 5, duration: 1 },
        { points: 3, duration: 3600 },
      ],
      cost: (ctx) => Number(ctx.req.header('x-cost')),
    })
    expect(sendMany(guard, 1, { headers: { 'x-cost': '2' } })).toEqual([200])
    const refused = context({ headers: { 'x-cost': '2' } })
    expect(() => guard(refused)).toThrow()
    expect(refused.headers.ratelimit).toMatch(/^"default-1s";r=3;t=1, "default-3600s";r=1;t=\d+$/)
    expect(sendMany(guard, 1, { headers: { 'x-cost': '1' } })).toEqual([200])
    expect(sendMany(guard, 1, { headers: { 'x-cost': '1' } })).toEqual([429])
  })

  it('keeps separate buckets per client IP and groups an IPv6 /64', () => {
    const guard = rateLimit({ points: 2, duration: 60 })
    expect(sendMany(guard, 3, { ip: '198.51.100.1' })).toEqual([200, 200, 429])
    expect(sendMany(guard, 1, { ip: '198.51.100.2' })).toEqual([200])
    expect(sendMany(guard, 1, { ip: '::ffff:198.51.100.2' })).toEqual([200])
    expect(sendMany(guard, 1, { ip: '198.51.100.2' })).toEqual([429])
    expect(sendMany(guard, 1, { ip: '2001:db8:0:1::1' })).toEqual([200])
    expect(sendMany(guard, 1, { ip: '2001:db8:0:1::2' })).toEqual([200])
    expect(sendMany(guard, 1, { ip: '2001:db8:0:1:abcd::3' })).toEqual([429])
    expect(sendMany(guard, 1, { ip: '2001:db8:0:2::1' })).toEqual([200])
  })

  it('counts principals, falling back to the IP for anonymous requests', () => {
    const guard = rateLimit({ points: 1, duration: 60, key: 'principal' })
    expect(sendMany(guard, 2, { principal: principal('alice'), ip: '198.51.100.1' })).toEqual([200, 429])
    expect(sendMany(guard, 1, { principal: principal('bob'), ip: '198.51.100.1' })).toEqual([200])
    expect(sendMany(guard, 2, { ip: '198.51.100.1' })).toEqual([200, 429])
  })

  it('counts each API key that apiKey() verified, by its key id', () => {
    const guard = rateLimit({ points: 1, duration: 60, key: 'apiKey' })
    expect(sendMany(guard, 2, { principal: keyHolder('key1') })).toEqual([200, 429])
    expect(sendMany(guard, 1, { principal: keyHolder('key2') })).toEqual([200])
  })

  it('counts unverified API keys by the client IP, so invented keys share the IP bucket', () => {
    const guard = rateLimit({ points: 3, duration: 60, key: 'apiKey' })
    const invented = Array.from({ length: 6 }, (_, i) =>
      sendMany(guard, 1, { headers: { 'x-api-key': `ak_${i}` } }),
    )
    expect(invented.flat()).toEqual([200, 200, 200, 429, 429, 429])
    expect(sendMany(guard, 1, { principal: principal('alice'), headers: { 'x-api-key': 'ak_0' } })).toEqual([
      429,
    ])
    expect(sendMany(guard, 1, { headers: { 'x-api-key': 'ak_0' }, ip: '198.51.100.77' })).toEqual([200])
  })

  it('counts path spellings of one route in one bucket, and combines sources', () => {
    const byPath = rateLimit({ points: 2, duration: 60, key: 'path' })
    expect(sendMany(byPath, 1, { path: '/login' })).toEqual([200])
    expect(sendMany(byPath, 1, { path: '/LOGIN' })).toEqual([200])
    expect(sendMany(byPath, 1, { path: '/Login' })).toEqual([429])
    const byRouteAndIp = rateLimit({ points: 1, duration: 60, key: ['route', 'ip'] })
    expect(sendMany(byRouteAndIp, 2, { route: '/notes/:id', path: '/notes/1' })).toEqual([200, 429])
    expect(sendMany(byRouteAndIp, 1, { route: '/notes/:id', path: '/notes/2' })).toEqual([429])
    expect(sendMany(byRouteAndIp, 1, { route: '/notes/:id', ip: '198.51.100.9' })).toEqual([200])
  })

  it('counts by a function, and by IP when it returns undefined', () => {
    const guard = rateLimit({ points: 1, duration: 60, key: (ctx) => ctx.req.header('x-tenant') })
    expect(sendMany(guard, 2, { headers: { 'x-tenant': 't1' } })).toEqual([200, 429])
    expect(sendMany(guard, 1, { headers: { 'x-tenant': 't2' } })).toEqual([200])
    expect(sendMany(guard, 2)).toEqual([200, 429])
  })

  it('skips requests and allowlisted IPs entirely', () => {
    const guard = rateLimit({
      points: 1,
      duration: 60,
      skip: (ctx) => ctx.req.path === '/health',
      allowlist: ['10.0.0.0/8', '2001:db8::/32'],
    })
    expect(sendMany(guard, 3, { path: '/health' })).toEqual([200, 200, 200])
    expect(sendMany(guard, 3, { ip: '10.1.2.3' })).toEqual([200, 200, 200])
    expect(sendMany(guard, 3, { ip: '2001:db8:5::1' })).toEqual([200, 200, 200])
    const ctx = context({ ip: '10.1.2.3' })
    guard(ctx)
    expect(ctx.headers.ratelimit).toBeUndefined()
    expect(sendMany(guard, 2)).toEqual([200, 429])
  })

  it('shares counters between limiters of one name on one store', () => {
    const store = memoryStore()
    const a = rateLimit({ points: 2, duration: 60, store, name: 'shared' })
    const b = rateLimit({ points: 2, duration: 60, store, name: 'shared' })
    expect([...sendMany(a, 1), ...sendMany(b, 1), ...sendMany(a, 1)]).toEqual([200, 200, 429])
    expect(() => rateLimit({ points: 3, duration: 60, store, name: 'shared' })).toThrow(/own name/)
  })

  it('stores API keys and principals hashed, never in clear', () => {
    const keys: string[] = []
    const store = memoryStore()
    const spy = {
      remote: false,
      counter: (spec: Parameters<typeof store.counter>[0]) => {
        const counter = store.counter(spec)
        return {
          ...counter,
          take: (key: string, cost: number) => {
            keys.push(key)
            return counter.take(key, cost)
          },
        }
      },
    }
    const guard = rateLimit({ points: 5, duration: 60, key: ['apiKey', 'principal'], store: spy as never })
    guard(context({ principal: keyHolder('ak_live_secret_id', 'alice@example.com') }))
    expect(keys).toHaveLength(1)
    expect(keys[0]).not.toContain('secret')
    expect(keys[0]).not.toContain('alice')
    expect(keys[0]).toMatch(/^k:[A-Za-z0-9_-]{43}\|p:[A-Za-z0-9_-]{43}$/)
  })
})

import type { Principal } from '@apiward/core'
import { configureWarnings, resetWarnings } from '@apiward/core'
import { bruteForce, memoryStore, rateLimit } from '@apiward/ratelimit'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { context, outcomeOf, principal } from './support.js'

const warnings: Array<{ code: string; message: string; docs?: string }> = []
configureWarnings({ logger: (code, message, docs) => warnings.push({ code, message, docs }) })
afterAll(() => configureWarnings())
beforeEach(() => {
  warnings.length = 0
  resetWarnings()
})
const codes = () => warnings.map((w) => w.code)

describe('deployment checks of rateLimit()', () => {
  it('counts a limiter that runs twice on one request once, and warns naming the fix', () => {
    const limiter = rateLimit({ points: 2, duration: 60 })
    const first = context()
    limiter(first)
    limiter(first)
    expect(first.headers.ratelimit).toBe('"default";r=1;t=60')
    expect(codes()).toEqual(['APIWARD_DOUBLE_COUNT'])
    expect(warnings[0]!.message).toMatch(/Mount each limiter once/)
    limiter(context())
    expect(() => limiter(context())).toThrow(expect.objectContaining({ status: 429 }))
  })

  it('warns when two limiters take one name on one store, and counts a request both see once', () => {
    const store = memoryStore()
    const a = rateLimit({ points: 3, duration: 60, store })
    expect(codes()).toEqual([])
    const b = rateLimit({ points: 3, duration: 60, store })
    expect(codes()).toEqual(['APIWARD_LIMITER_NAME_SHARED'])
    expect(warnings[0]!.message).toContain("'default'")
    const ctx = context()
    a(ctx)
    b(ctx)
    expect(ctx.headers.ratelimit).toBe('"default";r=2;t=60')
    expect(codes()).toContain('APIWARD_DOUBLE_COUNT')
  })

  it('lets limiters of distinct names share a store without a warning', () => {
    const store = memoryStore()
    rateLimit({ name: 'search', points: 3, duration: 60, store })
    rateLimit({ name: 'upload', points: 3, duration: 60, store })
    bruteForce({ store })
    expect(codes()).toEqual([])
  })

  it('warns when a limiter first sees a request that started before it was created', () => {
    const early = context()
    const limiter = rateLimit({ points: 3, duration: 60 })
    limiter(early)
    expect(codes()).toEqual(['APIWARD_LIMITER_CREATED_IN_HANDLER'])
    expect(warnings[0]!.docs).toBe('ratelimit.md#deployment-checks')
  })

  it('warns once when a duration in seconds looks like milliseconds', () => {
    rateLimit({ points: 3, duration: 60_000 })
    rateLimit({ points: 3, duration: 7_200 })
    rateLimit({
      windows: [
        { points: 3, duration: 1 },
        { points: 9, duration: 3_600_000 / 1000 },
      ],
    })
    expect(codes()).toEqual(['APIWARD_SECONDS_AS_MILLISECONDS'])
    expect(warnings[0]!.message).toContain('duration: 60')
    resetWarnings()
    bruteForce({ blockDuration: 900_000 })
    expect(codes()).toEqual(['APIWARD_SECONDS_AS_MILLISECONDS', 'APIWARD_SECONDS_AS_MILLISECONDS'])
    expect(warnings[1]!.message).toContain('blockDuration: 900')
    expect(warnings[1]!.message).toContain('bruteForce()')
  })

  it("says which draft standardHeaders: true sends when given express-rate-limit's 'draft-8'", () => {
    expect(() => rateLimit({ points: 3, duration: 60, standardHeaders: 'draft-8' as never })).toThrow(
      /draft-ietf-httpapi-ratelimit-headers-11.*'draft-8'.*for "draft-8" write standardHeaders: true/,
    )
    expect(() => rateLimit({ points: 3, duration: 60, standardHeaders: 1 as never })).toThrow(
      /standardHeaders must be true or false/,
    )
  })
})

describe('several limiters on one request', () => {
  it('sends the policy and the quota of every limiter, as list members', () => {
    const perIp = rateLimit({ name: 'ip', points: 100, duration: 60 })
    const search = rateLimit({
      name: 'search',
      windows: [
        { points: 5, duration: 1 },
        { points: 50, duration: 3600 },
      ],
    })
    const ctx = context()
    perIp(ctx)
    search(ctx)
    expect(ctx.headers['ratelimit-policy']).toBe(
      '"ip";q=100;w=60, "search-1s";q=5;w=1, "search-3600s";q=50;w=3600',
    )
    expect(ctx.headers.ratelimit).toBe('"ip";r=99;t=60, "search-1s";r=4;t=1, "search-3600s";r=49;t=3600')
  })

  it('keeps the earlier members on a refusal by a later limiter', () => {
    const perIp = rateLimit({ name: 'ip', points: 100, duration: 60 })
    const tight = rateLimit({ name: 'tight', points: 1, duration: 60 })
    tight(context())
    const ctx = context()
    perIp(ctx)
    expect(() => tight(ctx)).toThrow(expect.objectContaining({ status: 429 }))
    expect(ctx.headers.ratelimit).toBe('"ip";r=99;t=60, "tight";r=0;t=60')
  })
})

describe('points per request', () => {
  const plan = (ctx: { principal?: { claims: Record<string, unknown> } }) =>
    ctx.principal?.claims.plan === 'pro' ? 3 : 1
  const pro = { ...principal('p'), claims: { plan: 'pro' } }

  it('limits each request by the points its plan allows, and says so in the policy', () => {
    const limiter = rateLimit({ points: plan, duration: 60, key: 'principal' })
    const statuses = (p: Principal, n: number) =>
      Array.from({ length: n }, () => {
        const ctx = context({ principal: p })
        try {
          limiter(ctx)
          return ctx.headers['ratelimit-policy']
        } catch (err) {
          return (err as { status: number }).status
        }
      })
    expect(statuses(pro, 4)).toEqual(['"default";q=3;w=60', '"default";q=3;w=60', '"default";q=3;w=60', 429])
    expect(statuses(principal('free'), 2)).toEqual(['"default";q=1;w=60', 429])
  })

  it('refuses with a 503 a request whose points function throws or answers no positive integer', async () => {
    for (const points of [
      () => 0,
      () => 2.5,
      () => '5',
      () => Promise.resolve(5),
      () => {
        throw new Error('x')
      },
    ]) {
      const limiter = rateLimit({ points: points as never, duration: 60 })
      const err = await outcomeOf(limiter, context())
      expect(err?.status).toBe(503)
      expect(err?.code).toBe('ratelimit.unavailable')
    }
  })

  it('refuses requests beyond 64 distinct limits instead of growing without bound', async () => {
    let next = 1
    const limiter = rateLimit({ points: () => next++, duration: 60 })
    for (let i = 0; i < 64; i++) expect(await outcomeOf(limiter, context())).toBeUndefined()
    expect((await outcomeOf(limiter, context()))?.status).toBe(503)
  })

  it('is refused at startup next to windows', () => {
    expect(() => rateLimit({ points: () => 1, windows: [{ points: 1, duration: 1 }] } as never)).toThrow(
      /not both/,
    )
  })
})

describe('onlyUnauthenticated', () => {
  it('gives the point back to a request that ends with a principal, and keeps it for one that does not', () => {
    const limiter = rateLimit({ points: 2, duration: 60, onlyUnauthenticated: true })
    for (let i = 0; i < 5; i++) {
      const ctx = context()
      limiter(ctx)
      ctx.principal = principal('alice')
      ctx.finish(200, false)
    }
    const anonymous = context()
    limiter(anonymous)
    anonymous.finish(401, false)
    limiter(context())
    expect(() => limiter(context())).toThrow(expect.objectContaining({ status: 429 }))
  })

  it('is refused when not a boolean', () => {
    expect(() => rateLimit({ points: 2, duration: 60, onlyUnauthenticated: 'yes' as never })).toThrow(
      /onlyUnauthenticated must be true or false/,
    )
  })
})

describe("other libraries' option names", () => {
  it.each([
    [{ redis: {} }, /unknown option "redis"; did you mean "store: redisStore/],
    [{ db: new Map(), driver: 'memory' }, /unknown option "db"; did you mean "store: redisStore/],
    [{ id: () => 'x' }, /did you mean "key/],
    [{ message: 'slow down' }, /429 problem\+json/],
    [{ passOnStoreError: true }, /onStoreFailure: 'fail-open'/],
    [{ skipOnError: true }, /onStoreFailure: 'fail-open' or 'fail-closed'/],
    [{ standardHeader: false }, /did you mean "standardHeaders"/],
    [{ blacklist: ['10.0.0.0/8'] }, /ipFilter\(\{ deny \}\)/],
  ])('refuses %o at startup with the apiward option to use', (extra, message) => {
    expect(() => rateLimit({ points: 5, duration: 60, ...(extra as object) })).toThrow(message)
  })
})

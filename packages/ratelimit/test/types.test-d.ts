import type { Guard, SecurityContext } from '@apiward/core'
import {
  type BruteForceGuard,
  bruteForce,
  ipFilter,
  ipKeyOf,
  memoryStore,
  type RateLimitStore,
  rateLimit,
  redisStore,
} from '@apiward/ratelimit'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { describe, expectTypeOf, it } from 'vitest'

describe('@apiward/ratelimit types', () => {
  it('returns guards', () => {
    expectTypeOf(rateLimit({ points: 1, duration: 1 })).toEqualTypeOf<Guard>()
    expectTypeOf(ipFilter({ allow: ['10.0.0.0/8'] })).toEqualTypeOf<Guard>()
    expectTypeOf(bruteForce()).toEqualTypeOf<BruteForceGuard>()
    expectTypeOf(bruteForce()).toMatchTypeOf<Guard>()
    expectTypeOf(bruteForce().success).parameter(0).toEqualTypeOf<SecurityContext>()
  })

  it('takes ioredis and node-redis clients without either library in its own types', () => {
    expectTypeOf(redisStore({ client: new Redis() })).toEqualTypeOf<RateLimitStore>()
    expectTypeOf(redisStore({ client: createClient() })).toEqualTypeOf<RateLimitStore>()
    expectTypeOf(memoryStore()).toEqualTypeOf<RateLimitStore>()
  })

  it('types the outage policy and the key sources', () => {
    rateLimit({ points: 1, duration: 1, onStoreFailure: 'fail-open', key: ['route', 'ip'] })
    // @ts-expect-error not a policy
    rateLimit({ points: 1, duration: 1, onStoreFailure: 'ignore' })
    // @ts-expect-error not a key source
    rateLimit({ points: 1, duration: 1, key: 'cookie' })
    rateLimit({ points: 1, duration: 1, key: (ctx) => ctx.principal?.id })
    rateLimit({ points: 1, duration: 1, key: (ctx) => ctx.principal?.id ?? ipKeyOf(ctx.req.ip) })
    rateLimit({
      points: 1,
      duration: 1,
      countRefused: true,
      ipv6Subnet: 96,
      dangerouslyAllowAnyIpv6Subnet: true,
    })
    expectTypeOf(ipKeyOf).returns.toEqualTypeOf<string | undefined>()
    expectTypeOf(memoryStore({ maxKeys: 10 })).toEqualTypeOf<RateLimitStore>()
  })

  it('types a username reader as answering a string', () => {
    bruteForce({ username: (ctx) => ctx.req.header('x-user') })
    // @ts-expect-error a username is a string
    bruteForce({ username: () => ['victim'] })
  })

  it('types a limit per request as a number of the context, and the new switches as booleans', () => {
    rateLimit({ points: (ctx) => (ctx.principal?.claims.plan === 'pro' ? 1000 : 100), duration: 60 })
    // @ts-expect-error a limit is a number
    rateLimit({ points: () => '100', duration: 60 })
    rateLimit({ points: 20, duration: 60, onlyUnauthenticated: true })
    // @ts-expect-error a switch is a boolean
    rateLimit({ points: 20, duration: 60, onlyUnauthenticated: 'yes' })
    // @ts-expect-error express-rate-limit's draft names are not apiward's
    rateLimit({ points: 20, duration: 60, standardHeaders: 'draft-8' })
  })
})

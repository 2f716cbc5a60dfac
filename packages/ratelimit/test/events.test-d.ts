import { type SecurityEventType, securityEvents } from '@apiward/core'
import type { RATELIMIT_EVENTS, RateLimitEventMap, RateLimitEventType } from '@apiward/ratelimit'
import { describe, expectTypeOf, it } from 'vitest'

describe('@apiward/ratelimit events', () => {
  it('lists exactly the event types its map declares', () => {
    expectTypeOf<(typeof RATELIMIT_EVENTS)[number]>().toEqualTypeOf<keyof RateLimitEventMap>()
  })

  it('adds its events to core event map, narrowed by type', () => {
    expectTypeOf<RateLimitEventType>().toMatchTypeOf<SecurityEventType>()
    securityEvents.on((event) => {
      if (event.type === 'ratelimit.exceeded') {
        expectTypeOf(event.retryAfter).toEqualTypeOf<number>()
        expectTypeOf(event.limiter).toEqualTypeOf<string>()
      }
    })
  })
})

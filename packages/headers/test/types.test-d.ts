import type { StateKey } from '@apiward/core'
import { type SecurityContext, type SecurityEventType, securityEvents } from '@apiward/core'
import type {
  HEADERS_CODES,
  HEADERS_EVENTS,
  HeadersErrorCode,
  HeadersEventMap,
  HeadersEventType,
} from '@apiward/headers'
import { cors, kApiVersion } from '@apiward/headers'
import { describe, expectTypeOf, it } from 'vitest'

declare const ctx: SecurityContext

describe('@apiward/headers types', () => {
  it('lists exactly the event types its map declares', () => {
    expectTypeOf<(typeof HEADERS_EVENTS)[number]>().toEqualTypeOf<keyof HeadersEventMap>()
    expectTypeOf<(typeof HEADERS_CODES)[number]>().toEqualTypeOf<HeadersErrorCode>()
  })

  it('adds its events to core event map', () => {
    expectTypeOf<HeadersEventType>().toMatchTypeOf<SecurityEventType>()
    ctx.emit('cors.origin_refused', { origin: 'https://evil.test', preflight: false })
    // @ts-expect-error cors.origin_refused says which origin was refused
    ctx.emit('cors.origin_refused', { preflight: true })
  })

  it('narrows a listener event to the fields of its type', () => {
    securityEvents.on((event) => {
      if (event.type === 'cors.origin_refused') expectTypeOf(event.preflight).toEqualTypeOf<boolean>()
      if (event.type === 'https.required') expectTypeOf(event.redirected).toEqualTypeOf<boolean>()
    })
  })

  it('types the chosen version as a string and the origins as strings or patterns', () => {
    expectTypeOf(kApiVersion).toEqualTypeOf<StateKey<string>>()
    // @ts-expect-error origins are strings or regular expressions
    cors({ origins: [42] })
  })
})

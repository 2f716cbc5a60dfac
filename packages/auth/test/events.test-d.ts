import type { AUTH_EVENTS, AuthEventMap, AuthEventType } from '@apiward/auth'
import { type SecurityContext, type SecurityEventType, securityEvents } from '@apiward/core'
import { describe, expectTypeOf, it } from 'vitest'

declare const ctx: SecurityContext

describe('@apiward/auth events', () => {
  it('lists exactly the event types its map declares', () => {
    expectTypeOf<(typeof AUTH_EVENTS)[number]>().toEqualTypeOf<keyof AuthEventMap>()
  })

  it('adds its events to core event map', () => {
    expectTypeOf<AuthEventType>().toMatchTypeOf<SecurityEventType>()
    ctx.emit('auth.success', { credential: 'jwt' })
    // @ts-expect-error auth.success says which credential was accepted
    ctx.emit('auth.success', {})
  })

  it('narrows a listener event to the fields of its type', () => {
    securityEvents.on((event) => {
      if (event.type === 'auth.failure')
        expectTypeOf(event.credential).toEqualTypeOf<
          'jwt' | 'api_key' | 'introspection' | 'mtls' | undefined
        >()
      if (event.type === 'jwks.refreshed') expectTypeOf(event.keys).toEqualTypeOf<number>()
    })
  })
})

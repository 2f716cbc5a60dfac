import {
  type AnySecurityEvent,
  type SecurityContext,
  SecurityEventBus,
  type SecurityEventOf,
  type SecurityEventType,
} from '@apiward/core'
import { describe, expectTypeOf, it } from 'vitest'

declare module '@apiward/core' {
  interface SecurityEventMap {
    'typetest.reloaded': { policyVersion: number; source?: string }
  }
}

declare const ctx: SecurityContext
const bus = new SecurityEventBus()

describe('security event types', () => {
  it('narrows a listener event to the fields of its type', () => {
    bus.on((event) => {
      expectTypeOf(event).toEqualTypeOf<AnySecurityEvent>()
      if (event.type === 'typetest.reloaded') {
        expectTypeOf(event.policyVersion).toEqualTypeOf<number>()
        expectTypeOf(event.seq).toEqualTypeOf<number>()
      }
      if (event.type === 'server.listener_error') expectTypeOf(event.detail).toEqualTypeOf<string>()
    })
  })

  it('lists core and augmented types among the declared ones', () => {
    expectTypeOf<'server.error'>().toMatchTypeOf<SecurityEventType>()
    expectTypeOf<'typetest.reloaded'>().toMatchTypeOf<SecurityEventType>()
    expectTypeOf<SecurityEventOf<'typetest.reloaded'>['type']>().toEqualTypeOf<'typetest.reloaded'>()
  })

  it('accepts only declared types, with their required fields', () => {
    ctx.emit('typetest.reloaded', { policyVersion: 2, severity: 'warn' })
    bus.report('typetest.reloaded', { policyVersion: 2 })
    // @ts-expect-error an undeclared type
    ctx.emit('typetest.unknown')
    // @ts-expect-error an undeclared type
    bus.report('typetest.unknown', {})
    // @ts-expect-error a required field is missing
    ctx.emit('typetest.reloaded', { severity: 'info' })
    // @ts-expect-error the fields are required when the event has a required field
    bus.report('typetest.reloaded')
    // @ts-expect-error a field of the wrong type
    ctx.emit('typetest.reloaded', { policyVersion: 'two' })
  })
})

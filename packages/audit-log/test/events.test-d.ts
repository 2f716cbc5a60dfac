import { type SecurityEventType, securityEvents } from '@apiward/core'
import { describe, expectTypeOf, it } from 'vitest'
import type { AUDIT_EVENTS, AuditEventMap, AuditEventType, AuditLog, AuditLogOptions } from '../src/index.js'

describe('@apiward/audit-log types', () => {
  it('lists exactly the event types its map declares', () => {
    expectTypeOf<(typeof AUDIT_EVENTS)[number]>().toEqualTypeOf<keyof AuditEventMap>()
  })

  it('adds its events to the core event map, narrowed by type', () => {
    expectTypeOf<AuditEventType>().toMatchTypeOf<SecurityEventType>()
    securityEvents.on((event) => {
      if (event.type === 'audit.dropped') expectTypeOf(event.dropped).toEqualTypeOf<number>()
      if (event.type === 'request.completed') {
        expectTypeOf(event.status).toEqualTypeOf<number>()
        expectTypeOf(event.aborted).toEqualTypeOf<boolean>()
        expectTypeOf(event.credential).toEqualTypeOf<string | undefined>()
      }
    })
  })

  it('types the options and the running log', () => {
    expectTypeOf<AuditLogOptions['fieldNames']>().toEqualTypeOf<'apiward' | 'ecs' | undefined>()
    expectTypeOf<AuditLogOptions['checkpointIntervalMs']>().toEqualTypeOf<number | false | undefined>()
    expectTypeOf<AuditLog['flush']>().returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf<AuditLog['closeSync']>().returns.toEqualTypeOf<void>()
  })
})

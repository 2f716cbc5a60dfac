import {
  type AUTHZ_CODES,
  type AUTHZ_EVENTS,
  type AuthzErrorCode,
  type AuthzEventMap,
  type AuthzEventType,
  casbin,
  owner,
  scopes,
} from '@apiward/authz'
import { type Guard, type SecurityContext, type SecurityEventType, securityEvents } from '@apiward/core'
import { describe, expectTypeOf, it } from 'vitest'

declare const ctx: SecurityContext
declare const req: object

interface Note {
  id: string
  ownerId: string
}

describe('@apiward/authz types', () => {
  it('lists exactly the event types its map declares, and adds them to core', () => {
    expectTypeOf<(typeof AUTHZ_EVENTS)[number]>().toEqualTypeOf<keyof AuthzEventMap>()
    expectTypeOf<AuthzEventType>().toMatchTypeOf<SecurityEventType>()
    ctx.emit('authz.denied', { guard: 'casbin', reason: 'policy', policyVersion: 3 })
    // @ts-expect-error authz.denied says which guard denied and why
    ctx.emit('authz.denied', {})
  })

  it('narrows a listener event to the fields of its type', () => {
    securityEvents.on((event) => {
      if (event.type === 'authz.reloaded') expectTypeOf(event.policyVersion).toEqualTypeOf<number>()
      if (event.type === 'authz.denied') expectTypeOf(event.subject).toEqualTypeOf<string | undefined>()
    })
  })

  it('types its codes', () => {
    expectTypeOf<(typeof AUTHZ_CODES)[number]>().toEqualTypeOf<AuthzErrorCode>()
    expectTypeOf<'authz.insufficient_scope'>().toMatchTypeOf<AuthzErrorCode>()
  })

  it('hands the loaded resource to handlers typed', () => {
    const note = owner({ load: (): Note | undefined => undefined, ownerOf: (n) => n.ownerId })
    expectTypeOf(note.resource(req)).toEqualTypeOf<Note | undefined>()
    expectTypeOf(ctx.get(note.key)).toEqualTypeOf<Note | undefined>()
    expectTypeOf(note).toMatchTypeOf<Guard>()
  })

  it('gives the casbin guard its reload and policy version', () => {
    const rbac = casbin({ model: 'm.conf', policy: 'p.csv' })
    expectTypeOf(rbac.reload).returns.toEqualTypeOf<Promise<number>>()
    expectTypeOf(rbac.policyVersion).toEqualTypeOf<number>()
  })

  it('takes scopes then one options object', () => {
    expectTypeOf(scopes('a', 'b', { mode: 'any' })).toMatchTypeOf<Guard>()
    // @ts-expect-error at least one scope is required
    scopes()
  })
})

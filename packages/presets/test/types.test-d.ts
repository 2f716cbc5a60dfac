import type { AuditLog } from '@apiward/audit-log'
import type { Guard } from '@apiward/core'
import { type ApiRouteOptions, type ApiStack, type ApiStackOptions, apiStack } from '@apiward/presets'
import { describe, expectTypeOf, it } from 'vitest'

const authenticate: Guard = () => {}
const options = {
  authenticate,
  cors: { origins: ['https://app.example.com'] },
  rateLimit: { points: 100, duration: 60 },
} satisfies ApiStackOptions

describe('@apiward/presets types', () => {
  it('returns a stack whose parts are guard lists', () => {
    const stack = apiStack(options)
    expectTypeOf(stack).toEqualTypeOf<ApiStack>()
    expectTypeOf(stack.edge).toEqualTypeOf<readonly Guard[]>()
    expectTypeOf(stack.route({ scopes: ['notes:read'] })).toEqualTypeOf<Guard[]>()
    expectTypeOf(stack.open()).toEqualTypeOf<Guard[]>()
    expectTypeOf(stack.audit).toEqualTypeOf<AuditLog | undefined>()
  })

  it('requires the authentication, the CORS policy and the budgets', () => {
    // @ts-expect-error authenticate is required
    apiStack({ cors: options.cors, rateLimit: options.rateLimit })
    // @ts-expect-error rateLimit is required
    apiStack({ authenticate, cors: options.cors })
    // @ts-expect-error duration is required
    apiStack({ ...options, rateLimit: { points: 100 } })
  })

  it('types the route options', () => {
    expectTypeOf<ApiRouteOptions['scopes']>().toEqualTypeOf<readonly string[] | undefined>()
    // @ts-expect-error scopes is a list
    apiStack(options).route({ scopes: 'notes:read' })
  })
})

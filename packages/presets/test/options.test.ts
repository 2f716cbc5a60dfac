import { describeGuards, type Guard } from '@apiward/core'
import { apiStack } from '@apiward/presets'
import { describe, expect, it } from 'vitest'

const authenticate: Guard = () => {}
const base = {
  authenticate,
  cors: { origins: ['https://app.example.com'] },
  rateLimit: { points: 10, duration: 60 },
  audit: false,
} as const

describe('apiStack() options', () => {
  it('refuses a missing authentication guard, naming the option', () => {
    expect(() => apiStack({ ...base, authenticate: undefined as unknown as Guard })).toThrow(
      /apiStack\(\): authenticate must be a guard/,
    )
  })

  it('refuses a missing rate limit and a missing CORS policy, each with an example', () => {
    const { rateLimit: _r, ...noLimit } = base
    expect(() => apiStack(noLimit as never)).toThrow(
      /rateLimit is required, e\.g\. rateLimit: \{ points: 100/,
    )
    const { cors: _c, ...noCors } = base
    expect(() => apiStack(noCors as never)).toThrow(/cors is required/)
  })

  it('refuses an unknown option with the name that was meant', () => {
    expect(() => apiStack({ ...base, auth: authenticate } as never)).toThrow(/auth.*authenticate/)
    expect(() =>
      apiStack({ ...base, rateLimit: { points: 10, duration: 60, windowMs: 60000 } } as never),
    ).toThrow(/rateLimit.*windowMs.*duration/)
  })

  it("passes the feature packages' own startup errors through", () => {
    expect(() => apiStack({ ...base, rateLimit: { points: 0, duration: 60 } })).toThrow(/points/)
    expect(() => apiStack({ ...base, cors: { origins: ['https://app.example.com/'] } })).toThrow(TypeError)
  })

  it('refuses a realm that would break the challenge header', () => {
    expect(() => apiStack({ ...base, realm: 'a"b' })).toThrow(/realm must be printable ASCII without quotes/)
  })

  it('refuses route options that are not guards or names', () => {
    const stack = apiStack(base)
    expect(() => stack.route({ scopes: 'notes:read' as never })).toThrow(/scopes must be an array/)
    expect(() => stack.route({ after: [42 as never] })).toThrow(/after must be an array of guards/)
    expect(() => stack.route({ scope: ['x'] } as never)).toThrow(/scope/)
  })

  it('orders a route as version, authentication, principal budget, scopes, roles, authorization, validation, after', () => {
    const authorize: Guard = () => {}
    const after: Guard = () => {}
    const stack = apiStack({ ...base, apiVersion: { supported: ['1'], default: '1' } })
    const guards = stack.route({
      scopes: ['notes:read'],
      roles: ['admin'],
      authorize: [authorize],
      validate: { query: { type: 'object', properties: {} } },
      after: [after],
    })
    expect(guards[1]).toBe(authenticate)
    expect(guards[5]).toBe(authorize)
    expect(guards[7]).toBe(after)
    const kinds = guards.map((guard) => describeGuards(guard)[0]?.name)
    expect(kinds).toEqual([
      'apiVersion',
      'authenticate',
      'rateLimit',
      'scopes',
      'roles',
      'authorize',
      'validate',
      'after',
    ])
  })

  it('puts no authentication on an open route', () => {
    const stack = apiStack(base)
    expect(stack.open()).toEqual([])
    expect(stack.edge).toHaveLength(4)
    expect(stack.audit).toBeUndefined()
  })
})

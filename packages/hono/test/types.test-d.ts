import { createKey, type Principal } from '@apiward/core'
import { authOf, errorHandler, guard, guardFetch, notFound, stateOf } from '@apiward/hono'
import { type ErrorHandler, Hono, type MiddlewareHandler, type NotFoundHandler } from 'hono'
import { describe, expectTypeOf, it } from 'vitest'

describe('@apiward/hono types', () => {
  it("types c.get('auth') as the principal or undefined", () => {
    const app = new Hono()
    app.get('/notes', guard(), (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<Principal | undefined>()
      return c.json({ id: c.get('auth')?.id ?? null })
    })
  })

  it('returns Hono middleware and handlers', () => {
    expectTypeOf(guard()).toEqualTypeOf<MiddlewareHandler>()
    expectTypeOf(errorHandler()).toEqualTypeOf<ErrorHandler>()
    expectTypeOf(notFound(new Hono())).toEqualTypeOf<NotFoundHandler>()
  })

  it('refuses things that are not guards', () => {
    // @ts-expect-error a string is not a guard
    guard('jwt')
  })

  it('types stateOf() by the key, on a context and on a fetch request', () => {
    const kNote = createKey<{ id: string }>('note')
    new Hono().get('/notes/:id', guard(), (c) => {
      expectTypeOf(stateOf(c, kNote)).toEqualTypeOf<{ id: string } | undefined>()
      return c.body(null, 204)
    })
    guardFetch([], (request) => {
      expectTypeOf(stateOf(request, kNote)).toEqualTypeOf<{ id: string } | undefined>()
      expectTypeOf(authOf(request)).toEqualTypeOf<Principal | undefined>()
      return new Response(null, { status: 204 })
    })
  })

  it('keeps the runtime arguments of the wrapped fetch handler', () => {
    const wrapped = guardFetch([], (_request: Request, info: { remoteAddr: { hostname: string } }) =>
      Response.json({ from: info.remoteAddr.hostname }),
    )
    expectTypeOf(wrapped).parameters.toEqualTypeOf<[Request, { remoteAddr: { hostname: string } }]>()
    expectTypeOf(wrapped).returns.toEqualTypeOf<Promise<Response>>()
  })
})

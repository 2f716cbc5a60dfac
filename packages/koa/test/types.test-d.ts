import { createKey, type Principal } from '@apiward/core'
import { createGuard, errorHandler, guard, type KoaGuard, stateOf } from '@apiward/koa'
import Router from '@koa/router'
import Koa, { type Middleware } from 'koa'
import { describe, expectTypeOf, it } from 'vitest'

describe('@apiward/koa types', () => {
  it('types ctx.state.auth as the principal or undefined in app middleware', () => {
    const app = new Koa()
    app.use(guard())
    app.use((ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<Principal | undefined>()
    })
  })

  it('types ctx.state.auth in a router handler after guard()', () => {
    const router = new Router()
    router.get('/notes', guard(), (ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<Principal | undefined>()
      ctx.body = { owner: ctx.state.auth?.id }
    })
  })

  it('returns Koa middleware from guard() and errorHandler()', () => {
    expectTypeOf(guard()).toEqualTypeOf<Middleware>()
    expectTypeOf(errorHandler()).toEqualTypeOf<Middleware>()
    expectTypeOf(createGuard({ forwardErrors: true })).toEqualTypeOf<KoaGuard>()
  })

  it('refuses things that are not guards or options', () => {
    // @ts-expect-error a string is not a guard
    guard('jwt')
    // @ts-expect-error forwardErrors is a boolean
    createGuard({ forwardErrors: 'yes' })
  })

  it('types stateOf() by the key', () => {
    const kNote = createKey<{ id: string }>('note')
    const router = new Router()
    router.get('/n', guard(), (ctx) => {
      expectTypeOf(stateOf(ctx, kNote)).toEqualTypeOf<{ id: string } | undefined>()
    })
  })
})

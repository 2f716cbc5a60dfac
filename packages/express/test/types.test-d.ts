import { createKey, type Principal } from '@apiward/core'
import { errorHandler, guard, stateOf } from '@apiward/express'
import express, { type ErrorRequestHandler, type RequestHandler } from 'express'
import { describe, expectTypeOf, it } from 'vitest'

describe('@apiward/express types', () => {
  it('types req.auth as the principal or undefined', () => {
    const app = express()
    app.get('/notes', guard(), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<Principal | undefined>()
      res.json({ id: req.auth?.id })
    })
  })

  it('returns an Express request handler from guard()', () => {
    expectTypeOf(guard()).toEqualTypeOf<RequestHandler>()
  })

  it('returns the not-found and error middlewares from errorHandler()', () => {
    expectTypeOf(errorHandler()).toEqualTypeOf<[RequestHandler, ErrorRequestHandler]>()
  })

  it('refuses things that are not guards', () => {
    // @ts-expect-error a string is not a guard
    guard('jwt')
  })

  it('types stateOf() by the key', () => {
    const kNote = createKey<{ id: string }>('note')
    const app = express()
    app.get('/n', guard(), (req, res) => {
      expectTypeOf(stateOf(req, kNote)).toEqualTypeOf<{ id: string } | undefined>()
      res.end()
    })
  })
})

import { createKey, type Principal } from '@apiward/core'
import {
  type ApiwardOptions,
  apiward,
  frameworkErrors,
  type GuardHooks,
  guard,
  stateOf,
} from '@apiward/fastify'
import Fastify, { type FastifyPluginAsync, type FastifyRequest } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'

describe('@apiward/fastify types', () => {
  it('types request.auth as the principal or undefined', () => {
    const app = Fastify()
    app.get('/notes', { ...guard() }, async (request) => {
      expectTypeOf(request.auth).toEqualTypeOf<Principal | undefined>()
      return { id: request.auth?.id }
    })
    expectTypeOf<FastifyRequest['auth']>().toEqualTypeOf<Principal | undefined>()
  })

  it('spreads guard() into the options of routes with typed params, body and schemas', () => {
    const app = Fastify()
    app.post<{ Params: { id: string }; Body: { title: string } }>(
      '/notes/:id',
      { ...guard(), schema: { body: { type: 'object' } } },
      async (request) => ({ id: request.params.id, title: request.body.title }),
    )
    app.route({ method: 'GET', url: '/x', ...guard(), handler: async () => ({}) })
  })

  it('returns onRequest and preHandler hook lists that combine with hooks of the route', () => {
    const hooks = guard()
    expectTypeOf(hooks).toEqualTypeOf<GuardHooks>()
    const app = Fastify()
    app.get(
      '/x',
      {
        onRequest: [...hooks.onRequest, (_request, _reply, done) => done()],
        preHandler: [async () => {}, ...hooks.preHandler],
      },
      async () => ({}),
    )
    app.addHook('onRequest', hooks.onRequest[0]!)
  })

  it('registers the plugin with its options and fits the frameworkErrors server option', async () => {
    expectTypeOf(apiward).toEqualTypeOf<FastifyPluginAsync<ApiwardOptions>>()
    const app = Fastify({ frameworkErrors: frameworkErrors() })
    await app.register(apiward, { problemTypeBase: 'https://api.example.com/problems/', guards: [] })
    // @ts-expect-error guards must be guards
    await app.register(apiward, { guards: ['jwt'] })
  })

  it('refuses things that are not guards', () => {
    // @ts-expect-error a string is not a guard
    guard('jwt')
  })

  it('types stateOf() by the key', () => {
    const kNote = createKey<{ id: string }>('note')
    const read = (request: FastifyRequest) => stateOf(request, kNote)
    expectTypeOf(read).returns.toEqualTypeOf<{ id: string } | undefined>()
  })
})

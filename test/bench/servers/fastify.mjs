// Fastify 5: the bare route, the route behind @apiward/fastify guard(), and the popular stack.
import { createRequire } from 'node:module'
import { fastify } from 'fastify'
import { AUDIENCE, BODY, ISSUER } from '../stacks.mjs'
import {
  adapterOptions,
  apiwardGuards,
  casbinEnforcer,
  introspectionLimit,
  nullLogger,
  QUERY_SCHEMA,
} from './common.mjs'

export const version = createRequire(import.meta.url)('fastify/package.json').version

const handler = async () => BODY

export async function build(stack, config) {
  if (stack === 'popular') return popular(config)
  const app = fastify()
  if (stack === 'bare') {
    app.get('/hello', handler)
  } else if (stack === 'noop') {
    app.get('/hello', { onRequest: [(_request, _reply, done) => done()] }, handler)
  } else if (stack === 'introspection-limit') {
    const limit = introspectionLimit(config)
    app.decorateRequest('auth', undefined)
    const onRequest = (request, reply, done) => {
      const principal = limit.principalOf(request.headers.authorization)
      reply.header('x-request-id', limit.requestId())
      if (principal === undefined) return reply.code(401).send({ code: 'auth.invalid_token' })
      request.auth = principal
      done()
    }
    app.get('/hello', { onRequest: [onRequest] }, handler)
  } else {
    const { apiward, createGuard } = await import('@apiward/fastify')
    const guard = createGuard(adapterOptions(stack))
    await app.register(apiward, adapterOptions(stack))
    app.get('/hello', { ...guard(...(await apiwardGuards(stack, config))) }, handler)
  }
  return app
}

async function popular(config) {
  const { fastifyHelmet } = await import('@fastify/helmet')
  const { fastifyJwt } = await import('@fastify/jwt')
  const { fastifyRateLimit } = await import('@fastify/rate-limit')
  const enforcer = await casbinEnforcer(config)
  const app = fastify({ loggerInstance: await nullLogger() })
  await app.register(fastifyHelmet)
  await app.register(fastifyRateLimit, { max: 1e9, timeWindow: 60_000 })
  await app.register(fastifyJwt, {
    secret: { public: config.keys.RS256.pem },
    verify: { algorithms: ['RS256'], allowedIss: ISSUER, allowedAud: AUDIENCE },
  })
  app.get(
    '/hello',
    {
      schema: { querystring: QUERY_SCHEMA },
      onRequest: (request) => request.jwtVerify(),
      preHandler: async (request, reply) => {
        const path = request.url.split('?')[0]
        if (!(await enforcer.enforce(request.user.sub, path, request.method))) {
          return reply.code(403).send({ error: 'forbidden' })
        }
      },
    },
    handler,
  )
  return app
}

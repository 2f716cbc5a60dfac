// Fastify 5: the bare route, the route behind @apiward/fastify guard(), the limit servers, the peers
// and the popular stack.
import { createRequire } from 'node:module'
import { fastify } from 'fastify'
import { AUDIENCE, BODY, ISSUER, routeOf, stackByName } from '../stacks.mjs'
import {
  adapterOptions,
  apiwardGuards,
  casbinEnforcer,
  DENIED,
  limitParts,
  nullLogger,
  QUERY_SCHEMA,
} from './common.mjs'

export const version = createRequire(import.meta.url)('fastify/package.json').version

/** The handler answering `body` as JSON. */
const answer = (body) => async () => body
const handler = answer(BODY)

/** Where a limit that reads the client IP puts it, so the read is not optimised away. */
export let lastIp

export async function build(name, config) {
  if (name === 'popular') return popular(config)
  const stack = stackByName.get(name)
  // Case-sensitive and strict about trailing slashes are Fastify's defaults.
  const app = fastify(stack.strictRouting ? { routerOptions: { maxParamLength: 1024 } } : undefined)
  const { route, body } = routeOf(stack)
  const handler = answer(body)
  if (name === 'bare') {
    app.get(route, handler)
  } else if (name === 'noop') {
    app.get(route, { onRequest: [(_request, _reply, done) => done()] }, handler)
  } else if (stack.limitOf) {
    const { headers, refresh, work, readsIp, readsParams } = await limitParts(name, config)
    app.decorateRequest('auth', undefined)
    const onRequest = (request, reply, done) => {
      if (refresh !== undefined) refresh()
      for (let i = 0; i < headers.length; i++) reply.header(headers[i][0], headers[i][1])
      if (readsIp) lastIp = request.ip
      if (work !== undefined) {
        const principal = work(request.headers.authorization, readsParams ? request.params : undefined)
        if (principal === undefined) return reply.code(401).send(DENIED)
        request.auth = principal
      }
      done()
    }
    app.get(route, { onRequest: [onRequest] }, handler)
  } else if (stack.install) {
    await stack.install.fastify(app, config, handler)
  } else {
    const { apiward, createGuard } = await import('@apiward/fastify')
    const guard = createGuard(adapterOptions(name))
    await app.register(apiward, adapterOptions(name))
    app.get(route, { ...guard(...(await apiwardGuards(name, config))) }, handler)
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

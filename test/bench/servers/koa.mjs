// Koa 3 with @koa/router: the bare route, the route behind @apiward/koa guard(), and the popular stack.
import { createRequire } from 'node:module'
import Router from '@koa/router'
import Koa from 'koa'
import { AUDIENCE, BODY, ISSUER } from '../stacks.mjs'
import {
  adapterOptions,
  apiwardGuards,
  casbinEnforcer,
  introspectionLimit,
  nullLogger,
  queryValidator,
} from './common.mjs'

export const version = createRequire(import.meta.url)('koa/package.json').version

const handler = (ctx) => {
  ctx.body = BODY
}

export async function build(stack, config) {
  const app = new Koa()
  const router = new Router()
  if (stack === 'bare') {
    router.get('/hello', handler)
  } else if (stack === 'noop') {
    router.get('/hello', (_ctx, next) => next(), handler)
  } else if (stack === 'popular') {
    await popular(app, router, config)
  } else if (stack === 'introspection-limit') {
    const limit = introspectionLimit(config)
    router.get(
      '/hello',
      (ctx, next) => {
        const principal = limit.principalOf(ctx.get('authorization'))
        ctx.set('x-request-id', limit.requestId())
        if (principal === undefined) {
          ctx.status = 401
          ctx.body = { code: 'auth.invalid_token' }
          return
        }
        ctx.state.auth = principal
        return next()
      },
      handler,
    )
  } else {
    const { createGuard, errorHandler } = await import('@apiward/koa')
    const guard = createGuard(adapterOptions(stack))
    app.use(errorHandler(adapterOptions(stack)))
    router.get('/hello', guard(...(await apiwardGuards(stack, config))), handler)
  }
  app.use(router.routes())
  return app.callback()
}

async function popular(app, router, config) {
  const { default: helmet } = await import('koa-helmet')
  const { default: koaJwt } = await import('koa-jwt')
  const { default: ratelimit } = await import('koa-ratelimit')
  const { default: pinoLogger } = await import('koa-pino-logger')
  const validate = await queryValidator()
  const enforcer = await casbinEnforcer(config)
  app.use(pinoLogger({ logger: await nullLogger() }))
  app.use(helmet())
  app.use(ratelimit({ driver: 'memory', db: new Map(), duration: 60_000, max: 1e9, id: (ctx) => ctx.ip }))
  app.use(
    koaJwt({ secret: config.keys.RS256.pem, algorithms: ['RS256'], issuer: ISSUER, audience: AUDIENCE }),
  )
  router.get('/hello', async (ctx) => {
    if (!validate({ ...ctx.query })) ctx.throw(400, 'bad query')
    if (!(await enforcer.enforce(ctx.state.user.sub, ctx.path, ctx.method))) ctx.throw(403)
    ctx.body = BODY
  })
}

// Koa 3 with @koa/router: the bare route, the route behind @apiward/koa guard(), the limit servers,
// the peers and the popular stack.
import { createRequire } from 'node:module'
import Router from '@koa/router'
import Koa from 'koa'
import { AUDIENCE, BODY, ISSUER, routeOf, stackByName } from '../stacks.mjs'
import {
  adapterOptions,
  apiwardGuards,
  casbinEnforcer,
  DENIED,
  limitParts,
  nullLogger,
  queryValidator,
} from './common.mjs'

export const version = createRequire(import.meta.url)('koa/package.json').version

/** The handler answering `body` as JSON. */
const answer = (body) => (ctx) => {
  ctx.body = body
}

/** Where a limit that reads the client IP puts it, so the read is not optimised away. */
export let lastIp

export async function build(name, config) {
  const app = new Koa()
  const stack = stackByName.get(name)
  const router = new Router(stack.strictRouting ? { sensitive: true, strict: true } : undefined)
  const { route, body } = routeOf(stack)
  const handler = answer(body)
  if (name === 'bare') {
    router.get(route, handler)
  } else if (name === 'noop') {
    router.get(route, (_ctx, next) => next(), handler)
  } else if (name === 'popular') {
    await popular(app, router, config)
  } else if (stack.limitOf) {
    const { headers, refresh, work, readsIp, readsParams } = await limitParts(name, config)
    const limit = (ctx, next) => {
      const res = ctx.res
      if (refresh !== undefined) refresh()
      for (let i = 0; i < headers.length; i++) res.setHeader(headers[i][0], headers[i][1])
      if (readsIp) lastIp = ctx.ip
      if (work !== undefined) {
        const principal = work(ctx.req.headers.authorization, readsParams ? ctx.params : undefined)
        if (principal === undefined) {
          ctx.status = 401
          ctx.body = DENIED
          return
        }
        ctx.state.auth = principal
      }
      return next()
    }
    router.get(route, limit, handler)
  } else if (stack.install) {
    await stack.install.koa(router, config, handler)
  } else {
    const { createGuard, errorHandler } = await import('@apiward/koa')
    const guard = createGuard(adapterOptions(name))
    app.use(errorHandler(adapterOptions(name)))
    router.get(route, guard(...(await apiwardGuards(name, config))), handler)
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

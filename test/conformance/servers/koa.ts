import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createGuard, errorHandler, handleClientErrors, routes, stateOf } from '@apiward/koa'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import Koa3 from 'koa'
import Koa2 from 'koa2'
import { type AdapterHarness, type AppSpec, DEFAULT_BODY_LIMIT, defaultHandler, listen } from '../harness.js'

function build(Koa: typeof Koa3, spec: AppSpec) {
  const app = new Koa(spec.trustProxy === undefined ? {} : { proxy: true, maxIpsCount: spec.trustProxy })
  const options = {
    events: spec.events,
    onUnexpectedError: spec.onUnexpectedError ?? (() => {}),
    requestIdHeader: spec.requestIdHeader,
  }
  const guard = createGuard({ ...options, forwardErrors: spec.forwardErrors })
  // Above errorHandler() a forwarded answer would reach Koa's own error handling: these answer themselves.
  if (spec.firstGuards) app.use(createGuard(options)(...spec.firstGuards))
  app.use(errorHandler(options))
  if (spec.bodyParser !== false) app.use(bodyParser({ jsonLimit: spec.bodyLimit ?? DEFAULT_BODY_LIMIT }))
  if (spec.appGuards) app.use(guard(...spec.appGuards))
  const router = new Router(
    spec.routing ? { sensitive: spec.routing.caseSensitive, strict: spec.routing.strictSlash } : {},
  )
  for (const route of spec.routes) {
    const handler = route.handler ?? defaultHandler
    router.register(
      route.path,
      [route.method],
      [
        guard(...(route.guards ?? [])),
        async (ctx, next) => {
          if (route.passes) return next()
          const out = await handler({
            auth: ctx.state.auth,
            body: ctx.request.body,
            params: ctx.params,
            query: ctx.query,
            headers: ctx.headers,
            state: (key) => stateOf(ctx, key),
          })
          if (out.headers) ctx.set(out.headers)
          if (out.body === undefined) ctx.body = null
          else ctx.body = out.body
          ctx.status = out.status ?? 200
        },
      ],
    )
  }
  app.use(router.routes())
  return { app, router }
}

function serve({ app, router }: ReturnType<typeof build>, spec: AppSpec) {
  const server = spec.tls
    ? createHttpsServer({ ...spec.server, ...spec.tls }, app.callback())
    : createServer(spec.server ?? {}, app.callback())
  handleClientErrors(server, { requestIdHeader: spec.requestIdHeader })
  return listen(server, spec.tls ? 'https' : 'http').then((running) => ({
    ...running,
    routes: () => routes(router, app),
  }))
}

export const koaHarnesses: AdapterHarness[] = [
  {
    name: 'koa3',
    framework: 'koa',
    start: (spec) => serve(build(Koa3, spec), spec),
  },
  {
    name: 'koa2',
    framework: 'koa',
    start: (spec) => serve(build(Koa2, spec), spec),
  },
]

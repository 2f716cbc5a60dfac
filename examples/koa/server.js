// The reference notes API on Koa 3 and @koa/router: the shared domain and security configuration, adapted.
import { createServer } from 'node:http'
import { createDomain, createSecurity, loadSettings, serve } from '@apiward/example-shared'
import { createGuard, errorHandler, handleClientErrors, stateOf } from '@apiward/koa'
import Router from '@koa/router'
import Koa from 'koa'

const settings = loadSettings()
const domain = createDomain()
const security = createSecurity(settings, domain)
const guard = createGuard()

const app = new Koa()
if (settings.trustProxy > 0) {
  app.proxy = true
  app.maxIpsCount = settings.trustProxy
}
const router = new Router({ sensitive: true, strict: true })
for (const route of security.routes) {
  router.register(
    route.path,
    [route.method],
    [
      guard(...route.guards),
      async (ctx) => {
        const out = await route.run(ctx.state.auth, (key) => stateOf(ctx, key))
        if (out.headers) ctx.set(out.headers)
        ctx.status = out.status
        if (out.body !== undefined) ctx.body = out.body
      },
    ],
  )
}

app.use(errorHandler())
// No body parser: the guards read the body themselves, after authentication and the parameters.
app.use(guard(...security.edge))
app.use((_ctx, next) => {
  domain.countRequest()
  return next()
})
app.use(router.routes())

const server = createServer({ maxHeaderSize: 16 * 1024 }, app.callback())
handleClientErrors(server)
await serve(server, { name: 'koa', settings, security })

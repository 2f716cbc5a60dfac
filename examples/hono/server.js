// The reference notes API on Hono 4 and @hono/node-server: the shared domain and security
// configuration, adapted.
import { createServer } from 'node:http'
import { createDomain, createSecurity, loadSettings, serve } from '@apiward/example-shared'
import {
  createGuard,
  errorHandler,
  handleClientErrors,
  notFound,
  requestErrorHandler,
  stateOf,
} from '@apiward/hono'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'

const settings = loadSettings()
const domain = createDomain()
const security = createSecurity(settings, domain)
// Hono's defaults already compare paths exactly (case-sensitive, strict about the trailing slash).
const guard = createGuard({ trustProxy: settings.trustProxy })

const app = new Hono()
app.use('*', guard(...security.edge), async (_c, next) => {
  domain.countRequest()
  await next()
})
for (const route of security.routes) {
  app.on(route.method, route.path, guard(...route.guards), async (c) => {
    const out = await route.run(c.get('auth'), (key) => stateOf(c, key))
    for (const [name, value] of Object.entries(out.headers ?? {})) c.header(name, value)
    if (out.body === undefined) return c.body(null, out.status)
    return c.body(JSON.stringify(out.body), out.status, { 'content-type': 'application/json; charset=utf-8' })
  })
}
app.onError(errorHandler())
app.notFound(notFound(app))

const listener = getRequestListener(app.fetch, { errorHandler: requestErrorHandler() })
const server = createServer({ maxHeaderSize: 16 * 1024 }, listener)
handleClientErrors(server)
await serve(server, { name: 'hono', settings, security })

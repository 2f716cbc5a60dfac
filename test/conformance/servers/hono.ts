import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import {
  createGuard,
  errorHandler,
  handleClientErrors,
  notFound,
  parsedBody,
  requestErrorHandler,
  routes,
  stateOf,
} from '@apiward/hono'
import { getRequestListener } from '@hono/node-server'
import { type Context, Hono, type Next } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { getPath } from 'hono/utils/url'
import { validator } from 'hono/validator'
import { type AdapterHarness, type AppSpec, DEFAULT_BODY_LIMIT, defaultHandler, listen } from '../harness.js'

/**
 * Hono compares paths exactly by default (`strict: true`, case-sensitive); the folding policy is
 * a `getPath` that lower-cases and drops the trailing slash, which the adapter is told through
 * its `routing` option.
 */
function honoApp(spec: AppSpec): Hono {
  if (!spec.routing || (spec.routing.caseSensitive && spec.routing.strictSlash)) return new Hono()
  const { caseSensitive, strictSlash } = spec.routing
  return new Hono({
    getPath: (request) => {
      let path = getPath(request)
      if (!caseSensitive) path = path.toLowerCase()
      if (!strictSlash && path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
      return path
    },
  })
}

const json = validator('json', (value) => value)

/**
 * The body limit and JSON parser of the app, as `express.json()` is: Hono's `bodyLimit()` and
 * validator, never on GET or HEAD, whose bodies nobody reads.
 */
function parsesJson(maxSize: number) {
  const limit = bodyLimit({ maxSize })
  return (c: Context, next: Next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limit(c, () => json(c, next))
}

/** The query as Express and Koa parse it: one value as a string, a repeated one as an array. */
function queryOf(c: Context): Record<string, unknown> {
  const out: Record<string, string | string[]> = {}
  for (const [name, values] of Object.entries(c.req.queries()))
    out[name] = values.length === 1 ? values[0]! : values
  return out
}

function build(spec: AppSpec): Hono {
  const app = honoApp(spec)
  const options = {
    events: spec.events,
    onUnexpectedError: spec.onUnexpectedError ?? (() => {}),
    requestIdHeader: spec.requestIdHeader,
    trustProxy: spec.trustProxy,
    routing: spec.routing,
  }
  const guard = createGuard({ ...options, forwardErrors: spec.forwardErrors })
  if (spec.firstGuards) app.use(guard(...spec.firstGuards))
  if (spec.firstGuards) app.use(guard(...spec.firstGuards))
  if (spec.bodyParser !== false) app.use(parsesJson(spec.bodyLimit ?? DEFAULT_BODY_LIMIT))
  if (spec.appGuards) app.use(guard(...spec.appGuards))
  for (const route of spec.routes) {
    const handler = route.handler ?? defaultHandler
    app.on(route.method, route.path, guard(...(route.guards ?? [])), async (c, next) => {
      if (route.passes) return next()
      const out = await handler({
        auth: c.get('auth'),
        body: parsedBody(c),
        params: c.req.param() as Record<string, string>,
        query: queryOf(c),
        headers: Object.fromEntries(c.req.raw.headers),
        state: (key) => stateOf(c, key),
      })
      for (const [name, value] of Object.entries(out.headers ?? {})) c.header(name, value)
      const status = (out.status ?? 200) as 200
      return out.body === undefined ? c.body(null, status) : c.json(out.body as object, status)
    })
  }
  app.onError(errorHandler(options))
  app.notFound(notFound(app, options))
  return app
}

function serve(app: Hono, spec: AppSpec) {
  const errorHandler = requestErrorHandler({ requestIdHeader: spec.requestIdHeader })
  const listener = getRequestListener(app.fetch, { errorHandler })
  const server = spec.tls
    ? createHttpsServer({ ...spec.server, ...spec.tls }, listener)
    : createServer(spec.server ?? {}, listener)
  handleClientErrors(server, { requestIdHeader: spec.requestIdHeader })
  return listen(server, spec.tls ? 'https' : 'http').then((running) => ({
    ...running,
    routes: () => routes(app),
  }))
}

/** Hono 4 on @hono/node-server, served through @apiward/hono. */
export const honoHarnesses: AdapterHarness[] = [
  { name: 'hono4', framework: 'hono', start: async (spec) => serve(build(spec), spec) },
]

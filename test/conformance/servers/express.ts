import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createGuard, errorHandler, handleClientErrors, routes, stateOf } from '@apiward/express'
import express5 from 'express'
import express4 from 'express4'
import { type AdapterHarness, type AppSpec, DEFAULT_BODY_LIMIT, defaultHandler, listen } from '../harness.js'

function build(express: typeof express5, spec: AppSpec) {
  const app = express()
  app.disable('x-powered-by')
  if (spec.trustProxy !== undefined) app.set('trust proxy', spec.trustProxy)
  if (spec.routing) {
    app.set('case sensitive routing', spec.routing.caseSensitive)
    app.set('strict routing', spec.routing.strictSlash)
  }
  const options = {
    events: spec.events,
    onUnexpectedError: spec.onUnexpectedError ?? (() => {}),
    requestIdHeader: spec.requestIdHeader,
  }
  const guard = createGuard({ ...options, forwardErrors: spec.forwardErrors })
  if (spec.firstGuards) app.use(guard(...spec.firstGuards))
  if (spec.bodyParser !== false) app.use(express.json({ limit: spec.bodyLimit ?? DEFAULT_BODY_LIMIT }))
  if (spec.appGuards) app.use(guard(...spec.appGuards))
  for (const route of spec.routes) {
    const handler = route.handler ?? defaultHandler
    const method = route.method.toLowerCase() as 'get'
    app[method](route.path, guard(...(route.guards ?? [])), async (req, res, next) => {
      if (route.passes) {
        next()
        return
      }
      try {
        const out = await handler({
          auth: req.auth,
          body: req.body,
          params: req.params as Record<string, string>,
          query: req.query as Record<string, unknown>,
          headers: req.headers,
          state: (key) => stateOf(req, key),
        })
        if (out.headers) res.set(out.headers)
        res.status(out.status ?? 200)
        if (out.body === undefined) res.end()
        else res.json(out.body)
      } catch (err) {
        next(err)
      }
    })
  }
  app.use(errorHandler(options))
  return app
}

function serve(app: ReturnType<typeof build>, spec: AppSpec) {
  const server = spec.tls
    ? createHttpsServer({ ...spec.server, ...spec.tls }, app)
    : createServer(spec.server ?? {}, app)
  handleClientErrors(server, { requestIdHeader: spec.requestIdHeader })
  return listen(server, spec.tls ? 'https' : 'http').then((running) => ({
    ...running,
    routes: () => routes(app),
  }))
}

export const expressHarnesses: AdapterHarness[] = [
  {
    name: 'express5',
    framework: 'express',
    start: (spec) => serve(build(express5, spec), spec),
  },
  {
    name: 'express4',
    framework: 'express',
    start: (spec) => serve(build(express4 as unknown as typeof express5, spec), spec),
  },
]

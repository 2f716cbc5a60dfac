import * as kit from '@apiward/core/adapter'
import type {
  Application,
  ErrorRequestHandler,
  NextFunction,
  Request,
  RequestHandler,
  Response,
} from 'express'
import { sendProblem } from './context.js'

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean>; stack: { handle: unknown }[] }
  handle?: { stack?: Layer[] }
  path?: string
  /** Express 5 (router 2) keeps the mount path; Express 4 only its regexp. */
  rawPath?: unknown
  regexp?: RegExp & { fast_slash?: boolean }
  /** Express 4 returns a boolean and sets `path`; Express 5 (router 2) returns the match. */
  match(path: string): boolean | { path: string } | undefined
}

function collectMethods(stack: readonly Layer[], path: string, out: Set<string>): void {
  for (const layer of stack) {
    if (layer.route !== undefined) {
      if (!layer.match(path)) continue
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (on && method !== '_all') out.add(method)
      }
    } else if (layer.handle?.stack !== undefined) {
      const match = layer.match(path)
      if (!match) continue
      const prefix = (typeof match === 'object' ? match.path : layer.path) ?? ''
      collectMethods(layer.handle.stack, path.slice(prefix.length) || '/', out)
    }
  }
}

function stackOf(app: Application): Layer[] | undefined {
  const router = app as unknown as { _router?: { stack: Layer[] }; router?: { stack: Layer[] } }
  return router._router?.stack ?? router.router?.stack
}

/** Where a layer is mounted: `''` for every path, `undefined` for a pattern that is not a plain path. */
function mountOf(layer: Layer): string | undefined {
  if (typeof layer.rawPath === 'string') return layer.rawPath === '/' ? '' : layer.rawPath
  if (layer.regexp?.fast_slash === true) return ''
  const literal = /^\^((?:\\\/[\w.~-]+)+)\\\/\?\(\?=\\\/\|\$\)$/.exec(layer.regexp?.source ?? '')
  return literal?.[1]?.replaceAll('\\/', '/')
}

function listRoutes(stack: readonly Layer[], prefix: string, up: kit.MountedGuards[], out: kit.RouteEntry[]) {
  const mounted = [...up]
  for (const layer of stack) {
    const { route, handle } = layer
    const mount = prefix + (mountOf(layer) ?? '(pattern)')
    if (route !== undefined) {
      const methods = Object.keys(route.methods).map((m) => (m === '_all' ? '*' : m.toUpperCase()))
      const own = kit.guardsIn(route.stack.map((l) => l.handle))
      out.push(...kit.routeEntries(methods, prefix + String(route.path), mounted, own))
    } else if (handle?.stack !== undefined) listRoutes(handle.stack, mount, mounted, out)
    else if (kit.guardsOf(handle) !== undefined) mounted.push({ mount, guards: kit.guardsOf(handle)! })
  }
  return out
}

/**
 * Every route of an app with the guards that protect it, in the order they run: app-wide and
 * mounted `guard()`s first, then the route's own. Mounted routers are walked; a mount path that is
 * a pattern rather than a plain path shows as `(pattern)`.
 *
 * @example
 * ```ts
 * console.table(routes(app).map((r) => ({ route: `${r.method} ${r.path}`, guards: r.guards.map((g) => g.name).join(' > ') })))
 * ```
 */
export function routes(app: Application): kit.RouteEntry[] {
  return listRoutes(stackOf(app) ?? [], '', [], [])
}

/** The methods the app's routes accept for a path. */
function allowedMethods(app: Application, path: string): string[] {
  const found = new Set<string>()
  try {
    collectMethods(stackOf(app) ?? [], path, found)
  } catch {
    // A layer of a shape this walk does not know: no 405, the usual 404.
  }
  return [...found]
}

/** Whether routes follow the error handler: they are never reached, each answers its 404. */
function routesAfter(app: Application, notFound: RequestHandler): boolean {
  const stack = stackOf(app) ?? []
  const at = stack.findIndex((layer) => layer.handle === (notFound as unknown))
  return at !== -1 && stack.slice(at + 1).some((l) => l.route !== undefined || l.handle?.stack !== undefined)
}

/**
 * The last middleware of an app: answers unknown routes with a 404 problem (405 with `Allow`
 * when the path has routes for other methods, 204 with `Allow` when such a request is an
 * `OPTIONS`; a route of the request's own method that passed it on leaves a 404) and renders
 * every error as problem+json: `ApiError`s as they are, body-parser errors as 400 / 413 / 415,
 * anything else as a generic 500 whose body reveals nothing (the error goes to
 * `onUnexpectedError`).
 *
 * It returns two middlewares as one array; install it after your routes with `app.use()`.
 *
 * @example
 * ```ts
 * app.use(express.json({ limit: '64kb' }))
 * app.get('/notes', guard(jwt(opts)), listNotes)
 * app.use(errorHandler())
 * ```
 */
export function errorHandler(options: kit.AdapterOptions = {}): [RequestHandler, ErrorRequestHandler] {
  kit.checkAdapterOptions(options, 'errorHandler()')
  const notFound: RequestHandler = (req: Request, res: Response) => {
    kit.warnMisplaced('APIWARD_EXPRESS_ERROR_HANDLER_NOT_LAST', () => routesAfter(req.app, notFound))
    sendProblem(req, res, kit.unmatchedRoute(req.method, allowedMethods(req.app, req.path)), options)
  }
  const onError: ErrorRequestHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err)
      return
    }
    sendProblem(req, res, err, options)
  }
  return [notFound, onError]
}

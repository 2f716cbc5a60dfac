import type { GuardDescription } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import { ApiError, BadRequest, PayloadTooLarge } from '@apiward/errors'
import type { Context, ErrorHandler, Hono, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { COMPOSED_HANDLER } from 'hono/utils/constants'
import { contextOf, finish } from './context.js'
import { configure, type HonoOptions } from './options.js'

// RFC 9110 §4.2.4: user information in a target is an error; @hono/node-server fails to build the
// Request of one (undici refuses credentials in a URL) when its body or signal is first read.
const USERINFO = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*@/i

/** Hono's own errors (its validator, `bodyLimit()`) and the server's, by what they mean. */
function honoError(err: unknown, target: string): unknown {
  if (!ApiError.is(err) && USERINFO.test(target)) {
    return new BadRequest({
      code: 'request.malformed',
      detail: 'The request target carries user information, which HTTP does not allow.',
    })
  }
  if (!(err instanceof HTTPException)) return err
  if (err.status === 413) return new PayloadTooLarge({ cause: err })
  if (err.status === 400 && /^Malformed JSON/.test(err.message)) {
    return new BadRequest({
      code: 'request.malformed_body',
      detail: 'The request body could not be parsed.',
      cause: err,
    })
  }
  if (err.status < 400 || err.status > 499) return err // an unexpected error, a generic 500
  // Any other 4xx keeps its status with a generic problem, and the challenge of Hono's own auth
  // middleware (`basicAuth()`, `bearerAuth()` put `WWW-Authenticate` on their response).
  const headers: Record<string, string> = {}
  for (const name of CARRIED) {
    const value = err.res?.headers.get(name)
    if (value != null) headers[name] = value
  }
  return new ApiError(err.status, { headers, cause: err })
}

const CARRIED = ['www-authenticate', 'retry-after', 'allow'] as const

/**
 * The `app.onError()` handler: renders every error as problem+json, `ApiError`s as they are,
 * Hono's `HTTPException`s by status (its validator's malformed JSON as a 400
 * `request.malformed_body`, `bodyLimit()`'s 413 as `request.body_too_large`; of the exception's
 * own response only `WWW-Authenticate`, `Retry-After` and `Allow` are kept, its body and message
 * are not sent), anything else as a generic 500 whose body reveals nothing
 * (the error goes to `onUnexpectedError`).
 *
 * @example
 * ```ts
 * app.onError(errorHandler())
 * app.notFound(notFound(app))
 * ```
 */
export function errorHandler(options: HonoOptions = {}): ErrorHandler {
  const config = configure(options, 'errorHandler()')
  return function apiwardErrorHandler(err: Error, c: Context) {
    const ctx = contextOf(c, config)
    const target = (ctx.req as kit.FetchRequest<Context>).target
    return finish(c, ctx, kit.outcomeResponse(ctx, honoError(err, target), config))
  }
}

interface RouteData {
  method: string
  path: string
}
type Match = [[unknown, RouteData], unknown][]

/** The methods the app's routes (not its middleware) accept for a path, from Hono's own router. */
function allowedMethods(app: Hono, path: string): string[] {
  const candidates = new Set<string>()
  for (const route of app.routes) if (route.method !== 'ALL') candidates.add(route.method)
  const found: string[] = []
  for (const method of candidates) {
    const [matches] = app.router.match(method, path) as unknown as [Match]
    if (matches.some(([[, route]]) => route.method === method)) found.push(method)
  }
  return found
}

/**
 * The `app.notFound()` handler: a request no route answered gets a 404 problem, a 405 with
 * `Allow` when the path has routes for other methods (read from `app`'s route table), a 204 with
 * `Allow` for such an `OPTIONS` request; a route of the request's own method that passed it on
 * with `next()` leaves a 404.
 *
 * @example
 * ```ts
 * app.notFound(notFound(app, { problemTypeBase: 'https://api.example.com/problems/' }))
 * ```
 */
export function notFound(app: Hono, options: HonoOptions = {}): NotFoundHandler {
  const config = configure(options, 'notFound()')
  return function apiwardNotFound(c: Context) {
    const ctx = contextOf(c, config)
    const outcome = kit.unmatchedRoute(ctx.req.method, allowedMethods(app, c.req.path))
    return finish(c, ctx, kit.outcomeResponse(ctx, outcome, config))
  }
}

/** Where an `app.use()` applies: `''` for every path, a prefix for `/admin/*`, `undefined` for a pattern. */
function mountOf(path: string): string | undefined {
  if (path === '*' || path === '/*') return ''
  const prefix = path.endsWith('/*') ? path.slice(0, -2) : undefined
  return prefix !== undefined && /^(\/[\w.~-]+)+$/.test(prefix) ? prefix : undefined
}

/**
 * The guards a route's handler runs; a sub-app with an error handler of its own (`app.route()`)
 * wraps its handlers, and Hono keeps the one it wrapped under `COMPOSED_HANDLER`.
 */
function guardsOfHandler(handler: unknown): GuardDescription[] {
  const wrapped = (handler as Record<string, unknown> | undefined)?.[COMPOSED_HANDLER]
  return [...(kit.guardsOf(handler) ?? kit.guardsOf(wrapped) ?? [])]
}

/**
 * Every route of an app with the guards that protect it, in the order they run: `app.use()`
 * guards registered before the route first (a mount path that is a pattern rather than a plain
 * prefix shows as `(pattern)` and is not claimed for any route), then the route's own.
 *
 * @example
 * ```ts
 * console.table(routes(app).map((r) => ({ route: `${r.method} ${r.path}`, guards: r.guards.map((g) => g.name).join(' > ') })))
 * ```
 */
export function routes(app: Hono): kit.RouteEntry[] {
  const mounted: kit.MountedGuards[] = []
  const groups: { method: string; path: string; own: GuardDescription[]; mounted: kit.MountedGuards[] }[] = []
  for (const route of app.routes) {
    const guards = guardsOfHandler(route.handler)
    if (route.method === 'ALL') {
      if (guards.length > 0) mounted.push({ mount: mountOf(route.path) ?? '(pattern)', guards })
      continue
    }
    const last = groups.at(-1)
    if (last?.method === route.method && last.path === route.path) last.own.push(...guards)
    else groups.push({ method: route.method, path: route.path, own: [...guards], mounted: [...mounted] })
  }
  return groups.flatMap((g) => kit.routeEntries([g.method], g.path, g.mounted, g.own))
}

import type { GuardDescription } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { Context, ErrorHandler, Hono, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { COMPOSED_HANDLER } from 'hono/utils/constants'
import { contextOf, finish } from './context.js'
import { configure, type HonoOptions } from './options.js'

/** Hono's own errors (its validator, `bodyLimit()`) and the server's, by what they mean. */
function honoError(err: unknown, target: string): unknown {
  return kit.httpExceptionError(err, target, err instanceof HTTPException ? err : undefined)
}

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
    return finish(ctx, kit.outcomeResponse(ctx, honoError(err, target), config))
  }
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
    const outcome = kit.unmatchedRoute(ctx.req.method, kit.tableMethods(app, c.req.path))
    return finish(ctx, kit.outcomeResponse(ctx, outcome, config))
  }
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
  return kit.tableRoutes(app.routes, guardsOfHandler)
}

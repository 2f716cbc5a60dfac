import * as kit from '@apiward/core/adapter'
import type { Middleware, Next, ParameterizedContext } from 'koa'
import { sendProblem } from './context.js'

/**
 * The methods the routes whose path matched accept. @koa/router
 * records those routes on `ctx.matched` whatever the method, across every router the request
 * went through (nested routers included), so no router needs to be passed in.
 */
const matchedMethods = (ctx: ParameterizedContext): string[] =>
  kit.layerMethods((ctx as { matched?: unknown }).matched)

/** What only the router knows: a 405 thrown by `router.allowedMethods({ throw: true })`. */
const koaError = (ctx: ParameterizedContext, err: unknown) =>
  kit.routerMethodError(err, () => matchedMethods(ctx))

/** What happens once the rest of the chain has run: a bare error status gets its problem. */
function afterNext(ctx: ParameterizedContext, options: kit.AdapterOptions): void {
  // A bare error status: nothing answered (404), or `ctx.status = 401` without a body; a body set
  // to null on purpose (`_explicitNullBody`) is an empty answer, not a missing one.
  // Koa's `ctx.status` is `ctx.res.statusCode` behind two delegated getters; on the answered
  // path one plain read decides.
  const status = ctx.res.statusCode
  if (status < 400 || status > 599 || ctx.body != null || ctx.respond === false || ctx.headerSent) return
  if ((ctx.response as { _explicitNullBody?: boolean })._explicitNullBody === true) return
  const allow = ctx.response.get('Allow')
  sendProblem(ctx, kit.unansweredStatus(status, ctx.method, matchedMethods(ctx), allow), options)
}

// Not an async function: a `then` on the chain's promise costs a request less than an `await`.
function handleErrors(ctx: ParameterizedContext, next: Next, options: kit.AdapterOptions): Promise<void> {
  let chain: Promise<unknown>
  try {
    chain = next()
  } catch (err) {
    return Promise.resolve(sendProblem(ctx, koaError(ctx, err), options))
  }
  return chain.then(
    () => afterNext(ctx, options),
    (err: unknown) => sendProblem(ctx, koaError(ctx, err), options),
  )
}

interface RouterLayer {
  path: unknown
  methods: readonly string[]
  stack: readonly unknown[]
}

/**
 * Every route of a @koa/router with the guards that protect it, in the order they run: the
 * `guard()`s of `app` (when given) first, then those of `router.use()` above the route, then the
 * route's own.
 *
 * @example
 * ```ts
 * console.table(routes(router, app).map((r) => `${r.method} ${r.path}: ${r.guards.map((g) => g.name).join(' > ')}`))
 * ```
 */
export function routes(
  router: { stack: readonly RouterLayer[] },
  app?: { middleware: unknown[] },
): kit.RouteEntry[] {
  const mounted: kit.MountedGuards[] = [{ mount: '', guards: kit.guardsIn(app?.middleware) }]
  const out: kit.RouteEntry[] = []
  for (const { path, methods, stack } of router.stack) {
    if (methods.length === 0) mounted.push({ mount: String(path), guards: kit.guardsIn(stack) })
    else out.push(...kit.routeEntries(methods, String(path), mounted, kit.guardsIn(stack)))
  }
  return out
}

const FIRST: kit.MisplacedCode = 'APIWARD_KOA_ERROR_HANDLER_NOT_FIRST'

/**
 * The first middleware of an app: renders every error as problem+json. `ApiError`s are sent as
 * they are, body-parser errors as 400 / 413 / 415, anything else as a generic 500 whose body
 * reveals nothing (the error goes to `onUnexpectedError`), so Koa's own error handling (a
 * `text/plain` answer and an `error` event) never runs. A request nothing answered gets a 404
 * problem, or a 405 with `Allow` when @koa/router knows the path with other methods (no need
 * for `router.allowedMethods()`), or for an `OPTIONS` request there a 204 with `Allow`; a bare
 * error status (`ctx.status = 401` without a body) becomes the problem of that status.
 *
 * @example
 * ```ts
 * const app = new Koa()
 * app.use(errorHandler())
 * app.use(bodyParser({ jsonLimit: '64kb' }))
 * app.use(router.routes())
 * ```
 */
export function errorHandler(options: kit.AdapterOptions = {}): Middleware {
  kit.checkAdapterOptions(options, 'errorHandler()')
  let placementChecked = false
  return function apiwardErrorHandler(ctx: ParameterizedContext, next: Next): Promise<void> {
    // The middleware list is complete by the first request: one look at it is enough.
    if (!placementChecked) {
      placementChecked = true
      kit.warnMisplaced(FIRST, () => ctx.app.middleware.indexOf(apiwardErrorHandler) > 0)
    }
    return handleErrors(ctx, next, options)
  }
}

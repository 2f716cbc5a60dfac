import { METHODS } from 'node:http'
import type { GuardInput } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { FastifyInstance, FastifyPluginAsync, RegisterOptions } from 'fastify'
import fp from 'fastify-plugin'
import { kPlugin } from './context.js'
import { createGuard } from './guard.js'
import { sendProblem } from './problem.js'
import { replayRawBody, restoreBody } from './request.js'

/** Options of the {@link apiward} plugin. */
export interface ApiwardOptions extends kit.AdapterOptions {
  /**
   * Guards for every request of the app, unknown routes included, run before the routes' own
   * guards and sharing their context. Header-only guards run in an `onRequest` hook, the rest
   * from the first that needs the body in a `preHandler` hook. Default: none.
   */
  guards?: GuardInput[]
}

/**
 * The methods that have a route for a concrete URL. It asks Fastify's own router (`findRoute`
 * matches a concrete URL), so routes of every plugin, under every prefix, registered before or
 * after apiward, count, with the router's own options (case sensitivity, trailing slashes).
 */
function routedMethods(server: FastifyInstance, url: string): string[] {
  const methods = (server as { supportedMethods?: readonly string[] }).supportedMethods ?? METHODS
  return methods.filter((method) => server.findRoute({ method: method as 'GET', url }) !== null)
}

const kRoutes = Symbol.for('apiward.fastify.routes')
type Routed = { [kRoutes]?: kit.RouteEntry[] }

/**
 * Every route registered after the `apiward` plugin, with the guards that protect it in the order
 * they run: the plugin's app-wide `guards` first, then the route's own `guard()` hooks.
 *
 * @example
 * ```ts
 * await app.ready()
 * for (const r of routes(app)) console.log(r.method, r.path, r.guards.map((g) => g.name))
 * ```
 */
export const routes = (app: FastifyInstance): readonly kit.RouteEntry[] => (app as Routed)[kRoutes] ?? []

/** Fastify's own `clientError` listener, which the plugin's problem+json answers replace. */
const isDefault = (l: kit.ClientErrorListener) => l.name === 'bound defaultClientErrorHandler'

const NAME = '@apiward/fastify'
// Fastify hands its own register options (`prefix`, ...) to the plugin along with ours.
const PLUGIN_OPTIONS = { guards: true, prefix: true, logLevel: true, logSerializers: true } as const
// No app-wide hook at all without app-wide guards: every request would pay for it.
const NO_HOOKS = { onRequest: [], preHandler: [] }
// A route whose guard reads the raw body: Fastify's parser reads the bytes again, the guard's body wins.
const RAW_BODY = { preParsing: replayRawBody, preHandler: restoreBody }

const plugin: FastifyPluginAsync<ApiwardOptions> = async (fastify, options) => {
  const { guards, ...adapterOptions } = options
  const appGuards = kit.appGuardsOption(guards, 'apiward plugin')
  kit.checkAdapterOptions<ApiwardOptions & RegisterOptions>(options, 'apiward plugin', PLUGIN_OPTIONS)
  if (!fastify.hasDecorator(kPlugin)) kit.warnEarlierRoutes(fastify.printRoutes({ commonPrefix: false }))
  const appHooks = appGuards.length > 0 ? createGuard(adapterOptions)(appGuards) : NO_HOOKS
  const appWide = kit.guardsIn([...appHooks.onRequest, ...appHooks.preHandler])
  // `request.auth` and the context are not declared with decorateRequest(): Fastify would then
  // initialise both on every request with a generic keyed store, which costs more than adding
  // them to the requests that pass a guard.
  fastify.decorate(kPlugin, true)
  const inventory: kit.RouteEntry[] = []
  fastify.decorate(kRoutes, inventory)
  fastify.addHook('onRoute', function apiwardCheckGuards(route) {
    kit.addGuardedRoute(route, appGuards, appWide, inventory, RAW_BODY, NAME)
  })
  // In place of Fastify's own JSON answer; a clientErrorHandler of the user's is left alone.
  const { problemTypeBase, requestIdHeader } = options
  kit.handleClientErrors(fastify.server, { problemTypeBase, requestIdHeader, insteadOf: isDefault })
  fastify.setErrorHandler(function apiwardErrorHandler(err, request, reply) {
    sendProblem(request, reply, err, adapterOptions)
  })
  // 404, 405 with `Allow`, or 204 with `Allow` to an `OPTIONS` request.
  fastify.setNotFoundHandler(function apiwardNotFound(req, reply) {
    const methods = routedMethods(req.server, req.url)
    sendProblem(req, reply, kit.unmatchedRoute(req.method, methods), adapterOptions)
  })
  for (const hook of appHooks.onRequest) fastify.addHook('onRequest', hook)
  for (const hook of appHooks.preHandler) fastify.addHook('preHandler', hook)
}

/**
 * The apiward plugin: declares `request.auth`, renders every error as problem+json (`ApiError`s
 * as they are; Fastify's own: invalid JSON 400, body too large 413, unsupported media type 415,
 * schema violations 400 with a pointer per violation; anything else a generic 500 reported to
 * `onUnexpectedError`), answers unknown routes with 404 and known paths with another method with
 * 405 and `Allow` (an `OPTIONS` request there, when the path has no `OPTIONS` route, with 204 and
 * `Allow`), and runs app-wide `guards`. Register it, awaited, before your routes.
 *
 * @example
 * ```ts
 * const app = Fastify({ frameworkErrors: frameworkErrors() })
 * await app.register(apiward, { guards: [rateLimit({ points: 100, duration: 60 })] })
 * app.get('/notes', { ...guard(jwt(opts)) }, async (request) => ({ owner: request.auth?.id }))
 * ```
 */
export const apiward: FastifyPluginAsync<ApiwardOptions> = fp(plugin, { fastify: '4.x || 5.x', name: NAME })

import type { RoutingPolicy } from '@apiward/core'
import type { RequestReader } from '@apiward/core/adapter'
import type { FastifyRequest } from 'fastify'

type RouterOptions = { caseSensitive?: boolean; ignoreTrailingSlash?: boolean }
type RouterConfig = RouterOptions & { routerOptions?: RouterOptions }

/** Fastify's `caseSensitive` (default on) and `ignoreTrailingSlash` (default off), Fastify 5's `routerOptions` first. */
function routing(request: FastifyRequest): RoutingPolicy {
  const config = request.server.initialConfig as RouterConfig
  const router = config.routerOptions
  return {
    caseSensitive: (router?.caseSensitive ?? config.caseSensitive) !== false,
    strictSlash: (router?.ignoreTrailingSlash ?? config.ignoreTrailingSlash) !== true,
  }
}

/**
 * What guards read of a Fastify request: IP, protocol and host after `trustProxy` (Fastify 4
 * calls the host `hostname`, port included), params, query, the body (`undefined` in `onRequest`
 * guards: Fastify has not read it yet), the route pattern with the prefixes of enclosing plugins
 * (`/v1/notes/:id`), and the router's case and trailing-slash options.
 */
export const fastifyRequest: RequestReader<FastifyRequest> = {
  ip: (request) => request.ip,
  protocol: (request) => request.protocol,
  host: (request) => (request as { host?: string }).host ?? request.hostname,
  query: (request) => request.query as Record<string, unknown> | undefined,
  params: (request) => request.params as Record<string, string> | undefined,
  body: (request) => request.body,
  route: (request) => request.routeOptions?.url,
  routing,
}

import { METHODS } from 'node:http'
import { allowHeaderMethods } from '@apiward/core'
import { MethodNotAllowed, NotFound } from '@apiward/errors'
import type { FastifyInstance } from 'fastify'

/**
 * The error for a request no route answered: 405 with the methods that path has, or 404. It asks
 * Fastify's own router (`findRoute` matches a concrete URL), so routes of every plugin, under
 * every prefix, registered before or after apiward, count, with the router's own options
 * (case sensitivity, trailing slashes). A path that does answer the request's method (a
 * handler called `reply.callNotFound()`) is a 404.
 */
export function notFoundError(
  server: FastifyInstance,
  method: string,
  url: string,
): NotFound | MethodNotAllowed {
  const methods = (server as { supportedMethods?: readonly string[] }).supportedMethods ?? METHODS
  const found: string[] = []
  for (const candidate of methods) {
    if (server.findRoute({ method: candidate as 'GET', url }) === null) continue
    if (candidate === method) return new NotFound()
    found.push(candidate)
  }
  return found.length === 0 ? new NotFound() : new MethodNotAllowed(allowHeaderMethods(found))
}

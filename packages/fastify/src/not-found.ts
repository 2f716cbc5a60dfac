import { METHODS } from 'node:http'
import { type AdapterOptions, allowHeaderMethods, optionsAllowHeader } from '@apiward/core'
import { MethodNotAllowed, NotFound } from '@apiward/errors'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { contextOf } from './context.js'
import { sendProblem } from './problem.js'

/**
 * The methods that have a route for a concrete URL. It asks Fastify's own router (`findRoute`
 * matches a concrete URL), so routes of every plugin, under every prefix, registered before or
 * after apiward, count, with the router's own options (case sensitivity, trailing slashes).
 */
function routedMethods(server: FastifyInstance, url: string): string[] {
  const methods = (server as { supportedMethods?: readonly string[] }).supportedMethods ?? METHODS
  const found: string[] = []
  for (const candidate of methods) {
    if (server.findRoute({ method: candidate as 'GET', url }) !== null) found.push(candidate)
  }
  return found
}

/**
 * Answers a request no route answered: 405 with the methods its path has, or, for an `OPTIONS`
 * request to a path without an `OPTIONS` route, 204 with `Allow` and no body (with the request
 * ID, like every answer of the plugin); 404 when the path has no route. A path that does answer
 * the request's method (a handler called `reply.callNotFound()`) is a 404.
 */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply, options: AdapterOptions): void {
  const found = routedMethods(request.server, request.url)
  if (found.length === 0 || found.includes(request.method)) {
    sendProblem(request, reply, new NotFound(), options)
  } else if (request.method === 'OPTIONS') {
    contextOf(request, reply, options)
    reply.code(204).header('allow', optionsAllowHeader(found)).send()
  } else {
    sendProblem(request, reply, new MethodNotAllowed(allowHeaderMethods(found)), options)
  }
}

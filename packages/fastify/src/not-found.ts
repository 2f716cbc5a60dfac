import { METHODS } from 'node:http'
import { type AdapterOptions, unmatchedRoute } from '@apiward/core/adapter'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
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

/** Answers a request no route answered: 404, 405 with `Allow`, or 204 with `Allow` to an `OPTIONS`. */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply, options: AdapterOptions): void {
  sendProblem(
    request,
    reply,
    unmatchedRoute(request.method, routedMethods(request.server, request.url)),
    options,
  )
}

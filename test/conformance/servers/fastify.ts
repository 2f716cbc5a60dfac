import type { AddressInfo } from 'node:net'
import { apiward, createGuard, frameworkErrors, routes, stateOf } from '@apiward/fastify'
import fastify5 from 'fastify'
import fastify4 from 'fastify4'
import {
  type AdapterHarness,
  type AppSpec,
  DEFAULT_BODY_LIMIT,
  defaultHandler,
  type RunningServer,
} from '../harness.js'

/**
 * Fastify 5 reads a numeric `trustProxy` as "trust nothing" (a hop count cannot vouch for the
 * peer), so the spec's hop count is given to both versions as the equivalent function.
 */
function trustedHops(hops: number | undefined): boolean | ((address: string, hop: number) => boolean) {
  return hops === undefined ? false : (_address, hop) => hop < hops
}

/** The spec's routing policy, where each major version takes it (Fastify 5: `routerOptions`). */
function routerOptions(factory: typeof fastify5, spec: AppSpec) {
  if (!spec.routing) return {}
  const options = {
    caseSensitive: spec.routing.caseSensitive,
    ignoreTrailingSlash: !spec.routing.strictSlash,
  }
  return factory === fastify5 ? { routerOptions: options } : options
}

async function start(factory: typeof fastify5, spec: AppSpec): Promise<RunningServer> {
  const options = {
    events: spec.events,
    onUnexpectedError: spec.onUnexpectedError ?? (() => {}),
    requestIdHeader: spec.requestIdHeader,
  }
  const app = factory({
    bodyLimit: spec.bodyLimit ?? DEFAULT_BODY_LIMIT,
    trustProxy: trustedHops(spec.trustProxy),
    frameworkErrors: frameworkErrors(options),
    ...routerOptions(factory, spec),
    http: spec.server,
    ...(spec.tls ? { https: spec.tls } : {}),
    requestTimeout: spec.server?.requestTimeout,
  })
  const appGuards = [...(spec.firstGuards ?? []), ...(spec.appGuards ?? [])]
  await app.register(apiward, { ...options, guards: appGuards.length > 0 ? appGuards : undefined })
  const guard = createGuard({ ...options, forwardErrors: spec.forwardErrors })
  for (const route of spec.routes) {
    const handler = route.handler ?? defaultHandler
    app.route({
      method: route.method,
      url: route.path,
      ...guard(...(route.guards ?? [])),
      handler: async (request, reply) => {
        if (route.passes) return reply.callNotFound()
        const out = await handler({
          auth: request.auth,
          body: request.body,
          params: request.params as Record<string, string>,
          query: request.query as Record<string, unknown>,
          headers: request.headers,
          state: (key) => stateOf(request, key),
        })
        if (out.headers) reply.headers(out.headers)
        reply.code(out.status ?? 200)
        if (out.body === undefined) return reply.send()
        if (typeof out.body === 'string') return reply.type('application/json').send(JSON.stringify(out.body))
        return reply.send(out.body)
      },
    })
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return {
    url: `${spec.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () => app.close(),
    routes: () => routes(app),
  }
}

/** Fastify 5 and Fastify 4, served through @apiward/fastify. */
export const fastifyHarnesses: AdapterHarness[] = [
  { name: 'fastify5', framework: 'fastify', start: (spec) => start(fastify5, spec) },
  {
    name: 'fastify4',
    framework: 'fastify',
    start: (spec) => start(fastify4 as unknown as typeof fastify5, spec),
  },
]

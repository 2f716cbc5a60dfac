import { Readable } from 'node:stream'
import type { RoutingPolicy } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { FastifyRequest, preHandlerHookHandler, preParsingHookHandler } from 'fastify'

const kRaw = Symbol('apiward.fastify.rawBody')

/** What a guard that read the raw body leaves for the plugin's parsing hooks. */
type RawBody = { read?: Uint8Array; parsed?: { value: unknown } }

const rawOf = (request: FastifyRequest): RawBody => ((request as { [kRaw]?: RawBody })[kRaw] ??= {})

/** `preParsing`: Fastify's parser reads again the bytes a guard read, so the route's schema still applies. */
export const replayRawBody: preParsingHookHandler = (request, _reply, payload, done) => {
  const read = rawOf(request).read
  if (read === undefined) return done(null, payload)
  // Fastify's parser checks the stream's `receivedEncodedLength` against its limit and Content-Length.
  done(null, Object.assign(Readable.from([read]), { receivedEncodedLength: read.length }))
}

/** `preHandler`: the body a guard set with `ctx.setBody()` replaces what Fastify parsed. */
export const restoreBody: preHandlerHookHandler = (request, _reply, done) => {
  const parsed = rawOf(request).parsed
  if (parsed !== undefined) request.body = parsed.value
  done()
}

/** Fastify's `caseSensitive` (default on) and `ignoreTrailingSlash` (default off), Fastify 5's `routerOptions` first. */
const routing = (request: FastifyRequest): RoutingPolicy => kit.routingOf(request.server.initialConfig)

/** The `trustProxy` server option: Fastify keeps its options under a symbol of its own. */
const trustSetting = (server: object): kit.TrustSetting =>
  kit.trustSettingOf(kit.symbolSlot<{ trustProxy?: unknown }>(server, 'fastify.options')?.trustProxy)

interface RouteContext {
  config?: { url?: string } & Record<string, unknown>
}

// Fastify keeps a request's route context under its own symbol ('fastify.context', Fastify 4 and
// 5); `request.routeOptions` builds a new twelve-field object on every read, the context holds
// the same `config` (and `config.url`). Found on the first request; without it, routeOptions.
const routeContextOf = kit.slotReader<RouteContext>('fastify.context')

/**
 * What guards read of a Fastify request: IP, protocol and host after `trustProxy` (Fastify 4
 * calls the host `hostname`, port included), params, query, the body (`undefined` in `onRequest`
 * guards: Fastify has not read it yet), the route pattern with the prefixes of enclosing plugins
 * (`/v1/notes/:id`), and the router's case and trailing-slash options.
 */
export const fastifyRequest: kit.RequestReader<FastifyRequest> = {
  ip: (request) => request.ip,
  proxyTrust: (request) => kit.proxyTrustOf(request.server, trustSetting),
  protocol: (request) => request.protocol,
  host: (request) => (request as { host?: string }).host ?? request.hostname,
  query: (request) => request.query as Record<string, unknown> | undefined,
  params: (request) => request.params as Record<string, string> | undefined,
  body: (request) => request.body,
  route: (request) => {
    const context = routeContextOf(request)
    return context === undefined ? request.routeOptions?.url : context.config?.url
  },
  routeConfig: (request) => {
    const context = routeContextOf(request)
    const config = context === undefined ? request.routeOptions?.config : context.config
    return config as unknown as Readonly<Record<string, unknown>> | undefined
  },
  routing,
  setInput: kit.replaceInput,
  // Guards read the raw body in `onRequest`; the plugin replays it to Fastify's parser.
  setBody: (request, value) => {
    rawOf(request).parsed = { value }
  },
  bodyRead: (request, body) => {
    rawOf(request).read = body
  },
}

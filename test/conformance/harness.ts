import type { IncomingHttpHeaders, ServerOptions } from 'node:http'
import type { AddressInfo, Server } from 'node:net'
import type { TlsOptions } from 'node:tls'
import type { GuardInput, Principal, SecurityEventBus, StateKey } from '@apiward/core'
import type { RouteEntry } from '@apiward/core/adapter'

/** What a test route's handler sees. */
export interface HandlerInput {
  auth: Principal | undefined
  body: unknown
  params: Record<string, string>
  query: Record<string, unknown>
  headers: IncomingHttpHeaders
  /** The adapter's `stateOf()` for this request: what guards stored under a typed key. */
  state: <T>(key: StateKey<T>) => T | undefined
}

/** What a test route's handler answers; the body is sent as JSON through the framework. */
export interface HandlerResult {
  status?: number
  body?: unknown
  headers?: Record<string, string>
}

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'
  /** Route pattern with `:param` segments, understood by all three frameworks. */
  path: string
  /** Guards of this route, run through the adapter's `guard()`. */
  guards?: GuardInput[]
  /**
   * The route declines every request, as if it did not match: Express `next()`, Koa `next()`
   * without a body, Fastify `reply.callNotFound()`. Default: false.
   */
  passes?: boolean
  /** Default: 200 `{ ok: true, auth }`. It may throw or return a promise. */
  handler?: (input: HandlerInput) => HandlerResult | Promise<HandlerResult>
}

export interface AppSpec {
  routes: RouteSpec[]
  /** Guards for every request, installed app-wide before the routes. */
  appGuards?: GuardInput[]
  /**
   * Guards for every request, installed first: Express before `express.json()`, Koa before
   * `errorHandler()` and the body parser, Fastify as the plugin's first guards (its `onRequest`
   * hooks run before the body is parsed). Where secure headers and CORS go, so that parser errors
   * carry their headers too. On Koa they never forward (above `errorHandler()` nothing would
   * render what they forward). Default: none.
   */
  firstGuards?: GuardInput[]
  /**
   * Whether the framework's own JSON parser is mounted (Express `express.json()`, Koa
   * `bodyParser()`), for guards that parse the body themselves. Fastify's parsers stay. Default true.
   */
  bodyParser?: boolean
  /** JSON body limit in bytes. Default 65536. */
  bodyLimit?: number
  /** Events bus handed to the adapter. */
  events?: SecurityEventBus
  /** The framework's trust-proxy setting (hops). Default: none trusted. */
  trustProxy?: number
  /** Receives errors rendered as a generic 500. Default: ignored, to keep test output clean. */
  onUnexpectedError?: (err: unknown, requestId: string) => void
  /**
   * The router's matching policy, set through each framework's own settings (Express `case
   * sensitive routing` / `strict routing`, @koa/router `sensitive` / `strict`, Fastify
   * `caseSensitive` / `ignoreTrailingSlash`). Default: the framework's default.
   */
  routing?: { caseSensitive: boolean; strictSlash: boolean }
  /** The adapter's `requestIdHeader` option. Default: not given (`X-Request-Id`). */
  requestIdHeader?: string | false
  /** The guards' `forwardErrors` option: denials go to the error handling. Default: not given. */
  forwardErrors?: boolean
  /**
   * Limits and timeouts of the Node server (Fastify: its `http` option). Express and Koa servers
   * always get `handleClientErrors()`, as their docs ask. Default: Node's.
   */
  server?: Pick<
    ServerOptions,
    'maxHeaderSize' | 'headersTimeout' | 'requestTimeout' | 'connectionsCheckingInterval'
  >
  /**
   * Serve HTTPS with these TLS options (`key`, `cert`, and for client certificates `ca`,
   * `requestCert`, `rejectUnauthorized`); the URL is then `https://`. Default: plain HTTP.
   */
  tls?: TlsOptions
}

export interface RunningServer {
  url: string
  close(): Promise<void>
  /** The adapter's route inventory of the app: every route and the guards that protect it. */
  routes?: () => readonly RouteEntry[]
}

/** One framework at one major version, able to serve an `AppSpec` over real HTTP. */
export interface AdapterHarness {
  name: string
  framework: 'express' | 'koa' | 'fastify' | 'hono'
  start(spec: AppSpec): Promise<RunningServer>
}

export const DEFAULT_BODY_LIMIT = 65_536

export function defaultHandler(input: HandlerInput): HandlerResult {
  return { status: 200, body: { ok: true, auth: input.auth ?? null } }
}

/** Listens on an ephemeral loopback port and returns the URL and a closer that drops keep-alives. */
export function listen(server: Server, scheme: 'http' | 'https' = 'http'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `${scheme}://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
            server.close(() => done())
          }),
      })
    })
  })
}

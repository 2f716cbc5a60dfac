import type { IncomingMessage } from 'node:http'
import type { SecurityContext } from '../context.js'
import { NodeSecurityRequest } from '../node/request.js'
import type { RoutingPolicy } from '../path.js'
import type { ProxyTrust } from '../request.js'
import { type BodyStream, readRawBody } from './body.js'

const EMPTY: Readonly<Record<string, never>> = Object.freeze({})

/**
 * What an adapter tells the kit about its framework's request `F`: one function a fact, each
 * called only when a guard first asks for it. Everything else of the `SecurityRequest` (the
 * normalised and router-folded path, headers, TLS, media type) the kit reads from Node's
 * `IncomingMessage`.
 */
export interface RequestReader<F> {
  /** The target as the client sent it, where the framework rewrites `raw.url` in mounted routers. Default: `raw.url`. */
  readonly url?: (request: F) => string
  /** The client IP under the framework's trust-proxy setting. */
  readonly ip: (request: F) => string | undefined
  /**
   * How far the framework's trust-proxy setting trusts forwarding headers, so guards can warn
   * about a setting that lets clients pick their IP. Default: unknown.
   */
  readonly proxyTrust?: (request: F) => ProxyTrust
  /** The protocol under the framework's trust-proxy setting. */
  readonly protocol: (request: F) => string | undefined
  /** The host under the framework's trust-proxy setting (`Host`, or a trusted `X-Forwarded-Host`). */
  readonly host: (request: F) => string | undefined
  readonly query: (request: F) => Readonly<Record<string, unknown>> | undefined
  readonly params: (request: F) => Readonly<Record<string, string>> | undefined
  /** The parsed body, `undefined` before a body parser ran. */
  readonly body: (request: F) => unknown
  /** The route pattern (`/notes/:id`) when the router matched one. */
  readonly route: (request: F) => string | undefined
  /** The matched route's options (Fastify's route `config`). Default: none. */
  readonly routeConfig?: (request: F) => Readonly<Record<string, unknown>> | undefined
  /** How the router that serves the request compares paths. */
  readonly routing: (request: F) => RoutingPolicy
  /** Hands handlers the body a guard parsed (Express `req.body`, Koa `ctx.request.body`, ...). */
  readonly setBody: (request: F, value: unknown) => void
  /**
   * Hands handlers validated path parameters or query in place of the framework's own (see
   * `SecurityRequest.setInput`; {@link replaceInput} does it for a property of the request).
   * Default: none, the typed state is the one place.
   */
  readonly setInput?: (request: F, part: 'params' | 'query', value: Readonly<Record<string, unknown>>) => void
  /** Where the raw body streams from. Default: the Node request (Fastify: its `preParsing` payload). */
  readonly bodyStream?: (request: F) => BodyStream | undefined
  /**
   * Called once the raw body was read, so the framework's own parser does not read the spent
   * stream again (Express marks `req._body`, Koa sets `ctx.disableBodyParser`, Fastify re-feeds
   * the bytes).
   */
  readonly bodyRead?: (request: F, body: Uint8Array) => void
}

/** The `SecurityRequest` of a framework's request, read through the adapter's {@link RequestReader}. */
export class FrameworkRequest<F> extends NodeSecurityRequest {
  /** The framework's own request object. */
  readonly framework: F
  readonly #reader: RequestReader<F>
  #body: Promise<Uint8Array> | undefined

  constructor(raw: IncomingMessage, framework: F, reader: RequestReader<F>) {
    super(raw)
    this.framework = framework
    this.#reader = reader
  }

  protected override get url(): string {
    const url = this.#reader.url
    return url === undefined ? (this.raw.url ?? '/') : url(this.framework)
  }

  protected get frameworkIp(): string | undefined {
    return this.#reader.ip(this.framework)
  }

  override get proxyTrust(): ProxyTrust | undefined {
    return this.#reader.proxyTrust?.(this.framework)
  }

  protected get frameworkProtocol(): string | undefined {
    return this.#reader.protocol(this.framework)
  }

  protected get frameworkHost(): string | undefined {
    return this.#reader.host(this.framework)
  }

  get query(): Readonly<Record<string, unknown>> {
    return this.#reader.query(this.framework) ?? EMPTY
  }

  get params(): Readonly<Record<string, string>> {
    return this.#reader.params(this.framework) ?? EMPTY
  }

  get body(): unknown {
    return this.#reader.body(this.framework)
  }

  get route(): string | undefined {
    return this.#reader.route(this.framework)
  }

  override get routeConfig(): Readonly<Record<string, unknown>> | undefined {
    return this.#reader.routeConfig?.(this.framework)
  }

  get routing(): RoutingPolicy {
    return this.#reader.routing(this.framework)
  }

  readBody(limit: number): Promise<Uint8Array> {
    if (this.#body === undefined) {
      const reader = this.#reader
      const stream = reader.bodyStream?.(this.framework) ?? this.raw
      this.#body = readRawBody(stream, this.raw.headers['content-length'], limit).then((body) => {
        reader.bodyRead?.(this.framework, body)
        return body
      })
    }
    return this.#body
  }

  setBody(value: unknown): void {
    this.#reader.setBody(this.framework, value)
  }

  setInput(part: 'params' | 'query', value: Readonly<Record<string, unknown>>): void {
    this.#reader.setInput?.(this.framework, part, value)
  }
}

/**
 * Replaces a request's `params` or `query` with validated values: an assignment where the request
 * holds its own (Fastify; Express's `req.params`), which keeps the object's shape, an own property
 * where the framework has a getter on the prototype (Express 5's `req.query`), which shadows it.
 */
export function replaceInput(request: object, part: 'params' | 'query', value: unknown): void {
  if (Object.hasOwn(request, part)) (request as Record<string, unknown>)[part] = value
  else Object.defineProperty(request, part, { value, writable: true, configurable: true, enumerable: true })
}

/**
 * The framework's own request behind a guard's context (Express `req`, the Koa context, Fastify's
 * `request`), for what only the framework has: Passport's `req.user`, a session, a decorator.
 * `undefined` for a context that no adapter made. Each adapter exports it typed as
 * `frameworkRequestOf(ctx)`.
 *
 * @example
 * ```ts
 * export const frameworkRequestOf: (ctx: SecurityContext) => Request | undefined = kit.frameworkOf
 * ```
 */
export function frameworkOf<F>(ctx: SecurityContext): F | undefined {
  const req = ctx.req
  return req instanceof FrameworkRequest ? (req.framework as F) : undefined
}

import { FOLDING_ROUTER, type RoutingPolicy } from '@apiward/core'
import { NodeSecurityRequest } from '@apiward/core/adapter'
import type { ParameterizedContext } from 'koa'

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({})

/** The route information @koa/router leaves on the context. */
interface RouterFields {
  params?: Record<string, string>
  _matchedRoute?: unknown
  router?: { opts?: { sensitive?: unknown; strict?: unknown } }
}

/**
 * The `SecurityRequest` of a Koa context: IP as Koa resolved it (`app.proxy`, `maxIpsCount`),
 * parsed query, router params and route pattern, the body a body parser left on
 * `ctx.request.body`. The path is the one the client sent (`ctx.originalUrl`), so a guard
 * inside a mounted app still sees the whole path.
 */
export class KoaSecurityRequest extends NodeSecurityRequest {
  readonly #ctx: ParameterizedContext

  constructor(ctx: ParameterizedContext) {
    super(ctx.req)
    this.#ctx = ctx
  }

  protected override get url(): string {
    return this.#ctx.originalUrl
  }

  protected get frameworkIp(): string | undefined {
    return this.#ctx.ip || undefined
  }

  get query(): Readonly<Record<string, unknown>> {
    return this.#ctx.query
  }

  get params(): Readonly<Record<string, string>> {
    return (this.#ctx as RouterFields).params ?? NO_PARAMS
  }

  get body(): unknown {
    return (this.#ctx.request as { body?: unknown }).body
  }

  protected get frameworkProtocol(): string {
    return this.#ctx.protocol
  }

  protected get frameworkHost(): string {
    return this.#ctx.host
  }

  /**
   * The `sensitive` and `strict` options of the @koa/router that dispatched the request. Before
   * any router ran (an app-wide guard), @koa/router's defaults: case and trailing slash ignored,
   * which folds the most.
   */
  get routing(): RoutingPolicy {
    const opts = (this.#ctx as RouterFields).router?.opts
    if (opts === undefined) return FOLDING_ROUTER
    return { caseSensitive: opts.sensitive === true, strictSlash: opts.strict === true }
  }

  get route(): string | undefined {
    const route = (this.#ctx as RouterFields)._matchedRoute
    return typeof route === 'string' ? route : undefined
  }
}

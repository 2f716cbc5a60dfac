import type { RoutingPolicy } from '@apiward/core'
import { NodeSecurityRequest } from '@apiward/core/adapter'
import type { FastifyInstance, FastifyRequest } from 'fastify'

interface RouterConfig {
  caseSensitive?: boolean
  ignoreTrailingSlash?: boolean
  routerOptions?: { caseSensitive?: boolean; ignoreTrailingSlash?: boolean }
}

const policies = new WeakMap<FastifyInstance, RoutingPolicy>()

/** Fastify's `caseSensitive` (default on) and `ignoreTrailingSlash` (default off), Fastify 5's `routerOptions` first. */
function routingOf(server: FastifyInstance): RoutingPolicy {
  let policy = policies.get(server)
  if (policy === undefined) {
    const config = server.initialConfig as RouterConfig
    const router = config.routerOptions
    policy = {
      caseSensitive: (router?.caseSensitive ?? config.caseSensitive) !== false,
      strictSlash: (router?.ignoreTrailingSlash ?? config.ignoreTrailingSlash) !== true,
    }
    policies.set(server, policy)
  }
  return policy
}

/**
 * The `SecurityRequest` of a Fastify request: IP after `trustProxy`, params, query, body and the
 * route pattern, each read from the request only when a guard asks.
 */
export class FastifySecurityRequest extends NodeSecurityRequest {
  readonly #request: FastifyRequest

  constructor(request: FastifyRequest) {
    super(request.raw)
    this.#request = request
  }

  protected get frameworkIp(): string | undefined {
    return this.#request.ip
  }

  get query(): Readonly<Record<string, unknown>> {
    return (this.#request.query ?? {}) as Record<string, unknown>
  }

  get params(): Readonly<Record<string, string>> {
    return (this.#request.params ?? {}) as Record<string, string>
  }

  /** `undefined` in `onRequest` guards: Fastify has not read the body yet. */
  get body(): unknown {
    return this.#request.body
  }

  protected get frameworkProtocol(): string | undefined {
    return this.#request.protocol
  }

  /** Fastify 5's `request.host`; Fastify 4 calls it `hostname` (with the port, too). */
  protected get frameworkHost(): string | undefined {
    const request = this.#request as { host?: string; hostname: string }
    return 'host' in request ? request.host : request.hostname
  }

  get routing(): RoutingPolicy {
    return routingOf(this.#request.server)
  }

  /** The pattern with the prefixes of enclosing plugins, e.g. `/v1/notes/:id`. */
  get route(): string | undefined {
    return this.#request.routeOptions?.url
  }
}

import type { RoutingPolicy } from '@apiward/core'
import { NodeSecurityRequest } from '@apiward/core/adapter'
import type { Request } from 'express'

/** The `SecurityRequest` of an Express request: IP after `trust proxy`, params, query, body, route. */
export class ExpressSecurityRequest extends NodeSecurityRequest {
  readonly #req: Request

  constructor(req: Request) {
    super(req)
    this.#req = req
  }

  /** Express rewrites `req.url` inside mounted routers; `originalUrl` is what the client sent. */
  protected override get url(): string {
    return this.#req.originalUrl ?? this.#req.url
  }

  protected get frameworkIp(): string | undefined {
    return this.#req.ip
  }

  get query(): Readonly<Record<string, unknown>> {
    return (this.#req.query ?? {}) as Record<string, unknown>
  }

  get params(): Readonly<Record<string, string>> {
    return (this.#req.params ?? {}) as Record<string, string>
  }

  get body(): unknown {
    return this.#req.body
  }

  protected get frameworkProtocol(): string {
    return this.#req.protocol
  }

  /** Express 5's `req.host`, also on Express 4 (whose `req.host` drops the port). */
  protected get frameworkHost(): string | undefined {
    const req = this.#req
    const forwarded = req.headers['x-forwarded-host']
    if (typeof forwarded === 'string' && forwarded !== '') {
      const trust = req.app.get('trust proxy fn') as (address: string | undefined, hop: number) => boolean
      if (trust(req.socket.remoteAddress, 0)) {
        const comma = forwarded.indexOf(',')
        return (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim()
      }
    }
    return req.headers.host
  }

  /**
   * The app's `case sensitive routing` and `strict routing` settings (both off by default).
   * A `Router` made with other options than its app's is not visible from here: see
   * docs/adapters.md#routing-policy.
   */
  get routing(): RoutingPolicy {
    const app = this.#req.app
    return {
      caseSensitive: app.enabled('case sensitive routing'),
      strictSlash: app.enabled('strict routing'),
    }
  }

  get route(): string | undefined {
    const route = this.#req.route as { path?: unknown } | undefined
    return typeof route?.path === 'string' ? this.#req.baseUrl + route.path : undefined
  }
}

import { NodeSecurityRequest } from '@apiward/core'
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

  get ip(): string | undefined {
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

  get route(): string | undefined {
    const route = this.#req.route as { path?: unknown } | undefined
    return typeof route?.path === 'string' ? this.#req.baseUrl + route.path : undefined
  }
}

import {
  FOLDING_ROUTER,
  mediaTypeMatches,
  mediaTypeOf,
  normalizePath,
  type Principal,
  type ResponseBinding,
  type RoutingPolicy,
  routerPath,
  SecurityContext,
  type SecurityEvent,
  SecurityEventBus,
  type SecurityRequest,
} from '@apiward/core'
import { ApiError } from '@apiward/errors'

/** A request for guard unit tests: every field optional. */
export interface RequestSpec {
  method?: string
  path?: string
  route?: string
  /** How the router compares paths. Default: case and trailing slash ignored (Express's default). */
  routing?: RoutingPolicy
  /** Default `'http'`. */
  protocol?: 'http' | 'https'
  /** Default: none. */
  host?: string
  /** Default `203.0.113.10`; pass `undefined` explicitly for a request without an IP. */
  ip?: string | undefined
  /** Header values by name, or name/value pairs (a name may repeat). */
  headers?: Record<string, string | string[]> | Array<[string, string]>
  query?: Record<string, unknown>
  body?: unknown
  principal?: Principal
}

class PlainRequest implements SecurityRequest {
  readonly method: string
  readonly rawPath: string
  readonly path: string
  readonly matchPath: string
  readonly routing: RoutingPolicy
  readonly route: string | undefined
  readonly ip: string | undefined
  readonly query: Record<string, unknown>
  readonly params = {}
  readonly body: unknown
  readonly tls = undefined
  readonly protocol: 'http' | 'https'
  readonly host: string | undefined
  readonly #headers = new Map<string, string[]>()

  constructor(spec: RequestSpec) {
    this.method = spec.method ?? 'GET'
    this.rawPath = (spec.path ?? '/').split('?')[0]!
    this.path = normalizePath(spec.path ?? '/')
    this.routing = spec.routing ?? FOLDING_ROUTER
    this.protocol = spec.protocol ?? 'http'
    this.host = spec.host
    this.matchPath = routerPath(this.path, this.rawPath, this.routing)
    this.route = spec.route
    this.ip = 'ip' in spec ? spec.ip : '203.0.113.10'
    this.query = spec.query ?? {}
    this.body = spec.body
    const pairs = Array.isArray(spec.headers)
      ? spec.headers
      : Object.entries(spec.headers ?? {}).flatMap(([name, value]) =>
          (Array.isArray(value) ? value : [value]).map((v): [string, string] => [name, v]),
        )
    for (const [name, value] of pairs) {
      const key = name.toLowerCase()
      this.#headers.set(key, [...(this.#headers.get(key) ?? []), value])
    }
  }

  get secure(): boolean {
    return this.protocol === 'https'
  }

  get contentType(): string | undefined {
    return mediaTypeOf(this.header('content-type'))
  }

  is(...types: string[]): boolean {
    return mediaTypeMatches(this.contentType, types)
  }

  header(name: string): string | undefined {
    return this.#headers.get(name)?.join(', ')
  }

  headerValues(name: string): readonly string[] | undefined {
    return this.#headers.get(name)
  }
}

export type TestContext = SecurityContext & { headers: Record<string, string>; seen: SecurityEvent[] }

/**
 * A context over a plain request that records the response headers (by lower-case name) and the
 * events it produces.
 */
export function context(spec: RequestSpec = {}): TestContext {
  const headers: Record<string, string> = {}
  const seen: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => seen.push(e))
  const binding: ResponseBinding = {
    // Recorded under the lower-case name, as HTTP compares names (and Node's client reports them).
    setHeader: (name, value) => {
      headers[name.toLowerCase()] = value
    },
    removeHeader: (name) => {
      delete headers[name.toLowerCase()]
    },
    interceptSend: () => {},
    watchFinish: () => {},
    hookSendHeaders: () => {},
  }
  const ctx = new SecurityContext(new PlainRequest(spec), binding, { requestId: 'req-1', events: bus })
  if (spec.principal) ctx.principal = spec.principal
  return Object.assign(ctx, { headers, seen })
}

/** Runs a guard and returns the `ApiError` it denied with, or `undefined` when it allowed. */
export async function outcome(
  guard: (ctx: SecurityContext) => unknown,
  ctx: SecurityContext,
): Promise<ApiError | undefined> {
  try {
    await guard(ctx)
    return undefined
  } catch (err) {
    if (ApiError.is(err)) return err
    throw err
  }
}

/** Runs a guard that must deny and returns its `ApiError`. */
export async function denial(
  guard: (ctx: SecurityContext) => unknown,
  ctx: SecurityContext,
): Promise<ApiError> {
  const err = await outcome(guard, ctx)
  if (err === undefined) throw new Error('the guard allowed the request')
  return err
}

export function principal(id: string): Principal {
  return { id, kind: 'user', scopes: [], roles: [], claims: {}, credential: 'jwt' }
}

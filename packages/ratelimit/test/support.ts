import {
  type Principal,
  type ResponseBinding,
  SecurityContext,
  type SecurityEvent,
  SecurityEventBus,
  type SecurityRequest,
} from '@apiward/core'
import { ApiError } from '@apiward/errors'

export interface RequestSpec {
  ip?: string
  path?: string
  route?: string
  headers?: Record<string, string>
  body?: unknown
  principal?: Principal
}

class PlainRequest implements SecurityRequest {
  readonly method = 'POST'
  readonly rawPath: string
  readonly path: string
  readonly route: string | undefined
  readonly ip: string | undefined
  readonly query = {}
  readonly params = {}
  readonly body: unknown
  readonly tls = undefined
  readonly #headers: Record<string, string>

  constructor(spec: RequestSpec) {
    this.rawPath = spec.path ?? '/'
    this.path = spec.path ?? '/'
    this.route = spec.route
    this.ip = 'ip' in spec ? spec.ip : '203.0.113.10'
    this.body = spec.body
    this.#headers = Object.fromEntries(
      Object.entries(spec.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    )
  }

  header(name: string): string | undefined {
    return this.#headers[name]
  }

  headerValues(name: string): readonly string[] | undefined {
    const value = this.#headers[name]
    return value === undefined ? undefined : [value]
  }
}

export type TestContext = SecurityContext & { headers: Record<string, string>; seen: SecurityEvent[] }

/** A context over a plain request that records the headers and events it produces. */
export function context(spec: RequestSpec = {}): TestContext {
  const headers: Record<string, string> = {}
  const seen: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => seen.push(e))
  const binding: ResponseBinding = {
    setHeader: (name, value) => {
      headers[name] = value
    },
    interceptSend: () => {},
    watchFinish: () => {},
  }
  const ctx = new SecurityContext(new PlainRequest(spec), binding, { requestId: 'req-1', events: bus })
  if (spec.principal) ctx.principal = spec.principal
  return Object.assign(ctx, { headers, seen })
}

/** Runs a guard and returns the `ApiError` it denied with, or `undefined` when it allowed. */
export async function outcomeOf(
  guard: (ctx: SecurityContext) => void | PromiseLike<void>,
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

export function principal(id: string): Principal {
  return { id, kind: 'user', scopes: [], roles: [], claims: {}, credential: 'jwt' }
}

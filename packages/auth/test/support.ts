import {
  type ResponseBinding,
  SecurityContext,
  type SecurityEvent,
  SecurityEventBus,
  type SecurityRequest,
} from '@apiward/core'
import { ApiError } from '@apiward/errors'

export interface RequestSpec {
  headers?: Record<string, string | string[]>
  query?: Record<string, unknown>
  body?: unknown
}

class PlainRequest implements SecurityRequest {
  readonly method = 'GET'
  readonly rawPath = '/'
  readonly path = '/'
  readonly route = undefined
  readonly ip = '127.0.0.1'
  readonly params = {}
  readonly tls = undefined
  readonly query: Record<string, unknown>
  readonly body: unknown
  readonly #headers: Record<string, string[]>

  constructor(spec: RequestSpec) {
    this.query = spec.query ?? {}
    this.body = spec.body
    this.#headers = {}
    for (const [name, value] of Object.entries(spec.headers ?? {})) {
      this.#headers[name.toLowerCase()] = Array.isArray(value) ? value : [value]
    }
  }

  header(name: string): string | undefined {
    return this.#headers[name]?.join(', ')
  }

  headerValues(name: string): readonly string[] | undefined {
    return this.#headers[name]
  }
}

const binding: ResponseBinding = { setHeader() {}, interceptSend() {}, watchFinish() {} }

/** A context over a plain request, with the events it emits. */
export function context(
  spec: RequestSpec = {},
): SecurityContext & { events: SecurityEventBus; seen: SecurityEvent[] } {
  const events = new SecurityEventBus()
  const seen: SecurityEvent[] = []
  events.on((e) => seen.push(e))
  const ctx = new SecurityContext(new PlainRequest(spec), binding, { requestId: 'r-1', events })
  return Object.assign(ctx, { seen }) as SecurityContext & { events: SecurityEventBus; seen: SecurityEvent[] }
}

export const withToken = (token: string, spec: RequestSpec = {}) =>
  context({ ...spec, headers: { authorization: `Bearer ${token}`, ...spec.headers } })

/** Runs a guard and returns the `ApiError` it denied with, or `undefined` when it allowed. */
export async function outcome(
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

import type { SecurityContext, StateKey } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { Context } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { Configuration } from './options.js'

const kBody = Symbol('apiward.hono.body')

interface Marks {
  [kBody]?: { value: unknown }
}

type BodyCache = Record<string, Promise<unknown> | undefined>

/**
 * What guards read of a Hono context: route parameters, the route pattern the router matched,
 * the headers they set as `c.header()` sets them, and the body seam through `c.req`: the bytes a guard read land in `c.req`'s body cache (so
 * `c.req.arrayBuffer()` still reads them), and the value it parsed is the request's validated
 * `json` (`c.req.valid('json')`) and what `c.req.json()` returns.
 */
export const honoRequest: kit.FetchReader<Context> = {
  params: (c) => c.req.param() as Record<string, string>,
  route: (c) => kit.lastRoutePath(matchedRoutes(c)),
  body: (c) => {
    const set = (c as Marks)[kBody]
    if (set !== undefined) return set.value
    // What Hono's validator parsed, for the media types it parses (it records `{}` for others).
    const target = kit.bodyKindOf(c.req.header('content-type'))
    return target === undefined ? undefined : (c.req.valid as (target: string) => unknown).call(c.req, target)
  },
  setBody: (c, value) => {
    ;(c as Marks)[kBody] = { value }
    c.req.addValidatedData('json', value as Record<string, unknown>)
    // `c.req.json()` parses the cached text: a value JSON cannot hold is only `c.req.valid('json')`.
    const text = kit.jsonText(value)
    if (text !== undefined) (c.req.bodyCache as BodyCache).text = Promise.resolve(text)
  },
  bodyRead: (c, body) => {
    ;(c.req.bodyCache as BodyCache).arrayBuffer = Promise.resolve(body.buffer)
  },
  setHeader: (c, name, value) => c.header(name, value),
  // The headers `c.header()` fills, which `c.json()` and the others build their response on.
  ownHeaders: (c) => (c.finalized ? undefined : c.body(null).headers),
}

/**
 * The request's `SecurityContext`, created on first use; every `guard()`, the error handler and
 * `notFound()` of the request share it.
 */
export function contextOf(c: Context, config: Configuration): SecurityContext {
  return kit.fetchContextFor(c, c.req.raw, honoRequest, c.env, config)
}

/**
 * Finishes an answer of the request (headers guards set, transformers, `onFinish`), unless the
 * guard that owns the context is still waiting for it, which finishes it then.
 */
export const finish: (ctx: SecurityContext, response: Response) => Response | Promise<Response> =
  kit.finishOwned

/**
 * What a guard stored for the handler under a typed key (`createKey<T>()`): validated input, a
 * loaded resource. `undefined` when no guard set it, or no guard ran on the request. Takes a Hono
 * context or the `Request` a `guardFetch()` handler received.
 *
 * @example
 * ```ts
 * app.get('/notes/:id', guard(loadNote), (c) => c.json(stateOf(c, kNote)))
 * ```
 */
export function stateOf<T>(holder: Context | Request, key: StateKey<T>): T | undefined {
  return kit.stateIn(holderOf(holder), key)
}

/**
 * The Hono context behind a guard's context, typed, for key functions and guards of your own that
 * need what only Hono has (a variable an earlier middleware set with `c.set()`, `c.env`);
 * `undefined` for a context that no Hono guard made (a `guardFetch()` handler's, or none).
 *
 * @example
 * ```ts
 * rateLimit({ points: 100, duration: 60, key: (ctx) => frameworkRequestOf(ctx)?.get('userId') })
 * ```
 */
export function frameworkRequestOf(ctx: SecurityContext): Context | undefined {
  const req = ctx.req
  // A `guardFetch()` handler's context is kept on the `Request` itself.
  return req instanceof kit.FetchRequest && req.framework !== req.request
    ? (req.framework as Context)
    : undefined
}

/** The object the context is kept on: a Hono context, or the `Request` a fetch handler first got. */
export const holderOf: (holder: Context | Request) => object = kit.fetchHolder

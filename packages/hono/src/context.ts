import { mediaTypeMatches, mediaTypeOf, type SecurityContext, type StateKey } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { Context } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { Configuration } from './options.js'

const kBody = Symbol('apiward.hono.body')
const kBinding = Symbol('apiward.hono.binding')
const kActive = Symbol('apiward.hono.active')

interface Marks {
  [kBody]?: { value: unknown }
  [kBinding]?: kit.FetchBinding
  [kActive]?: boolean
}

type BodyCache = Record<string, Promise<unknown> | undefined>

const JSON_TYPES = ['+json']
const FORM: Record<string, string> = {
  'application/x-www-form-urlencoded': 'form',
  'multipart/form-data': 'form',
}

/**
 * What guards read of a Hono context: route parameters, the route pattern the router matched,
 * and the body seam through `c.req`: the bytes a guard read land in `c.req`'s body cache (so
 * `c.req.arrayBuffer()` still reads them), and the value it parsed is the request's validated
 * `json` (`c.req.valid('json')`) and what `c.req.json()` returns.
 */
export const honoRequest: kit.FetchReader<Context> = {
  params: (c) => c.req.param() as Record<string, string>,
  route: (c) => {
    const routes = matchedRoutes(c)
    for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path
    return undefined
  },
  body: (c) => {
    const set = (c as Marks)[kBody]
    if (set !== undefined) return set.value
    // What Hono's validator parsed, for the media types it parses (it records `{}` for others).
    const type = mediaTypeOf(c.req.header('content-type'))
    const target = type === undefined ? undefined : mediaTypeMatches(type, JSON_TYPES) ? 'json' : FORM[type]
    return target === undefined ? undefined : (c.req.valid as (target: string) => unknown).call(c.req, target)
  },
  setBody: (c, value) => {
    ;(c as Marks)[kBody] = { value }
    c.req.addValidatedData('json', value as Record<string, unknown>)
    // `c.req.json()` parses the cached text: a value JSON cannot hold is only `c.req.valid('json')`.
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch {
      text = undefined
    }
    if (text !== undefined) (c.req.bodyCache as BodyCache).text = Promise.resolve(text)
  },
  bodyRead: (c, body) => {
    ;(c.req.bodyCache as BodyCache).arrayBuffer = Promise.resolve(body.buffer)
  },
}

/**
 * The request's `SecurityContext`, created on first use; every `guard()`, the error handler and
 * `notFound()` of the request share it.
 */
export function contextOf(c: Context, config: Configuration): SecurityContext {
  const existing = kit.contextIn(c)
  if (existing !== undefined) return existing
  const request = c.req.raw
  const view = new kit.FetchRequest(request, c, honoRequest, {
    env: c.env,
    trust: config.trust,
    routing: config.routing,
    secureServer: config.secureServer,
  })
  const binding = new kit.FetchBinding(request)
  ;(c as Marks)[kBinding] = binding
  return kit.createFetchContext(c, view, binding, config)
}

/**
 * Runs `next()` as the guard that made the request's context, which finishes the response once
 * the rest of the chain answered: the error handler and `notFound()` leave it that work.
 */
export async function own(c: Context, next: () => Promise<void>): Promise<void> {
  const marks = c as Marks
  marks[kActive] = true
  try {
    await next()
  } finally {
    marks[kActive] = false
  }
}

/**
 * Finishes an answer of the request (headers guards set, transformers, `onFinish`), unless the
 * guard that owns the context is still waiting for it (`own`), which finishes it then.
 */
export function finish(c: Context, ctx: SecurityContext, response: Response): Response | Promise<Response> {
  const marks = c as Marks
  if (marks[kActive] === true) return response
  return kit.finishResponse(ctx, marks[kBinding]!, response)
}

/**
 * Replaces `c.res` with a finished response. Hono's `c.res` setter copies the old response's
 * headers onto a new one, which would bring back a header a guard removed, so the old one goes
 * first.
 */
export function finishRes(c: Context, ctx: SecurityContext): void | Promise<void> {
  const response = c.res
  const finished = kit.finishResponse(ctx, (c as Marks)[kBinding]!, response)
  if (finished instanceof Promise) return finished.then((done) => replaceRes(c, response, done))
  replaceRes(c, response, finished)
}

function replaceRes(c: Context, response: Response, finished: Response): void {
  if (finished === response) return
  c.res = undefined
  c.res = finished
}

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

const copies = new WeakMap<Request, Request>()

/** Remembers that a handler received `copy` in place of `original` (a body a guard read, handed on). */
export function rememberCopy(copy: Request, original: Request): void {
  copies.set(copy, original)
}

/** The object the context is kept on: a Hono context, or the `Request` a fetch handler first got. */
export function holderOf(holder: Context | Request): object {
  return copies.get(holder as Request) ?? holder
}

import { compose, type GuardInput, type Principal } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import { Context } from 'hono'
import { holderOf, honoRequest, rememberCopy } from './context.js'
import { configure, type HonoOptions } from './options.js'

/** Options of {@link guardFetch}: the adapter options without `forwardErrors` (there is no error handling to hand denials to). */
export type FetchGuardOptions = Omit<HonoOptions, 'forwardErrors'>

/** A fetch handler: Bun's and Deno's `fetch`, a Next.js route handler, Cloudflare's `fetch`. */
export type FetchHandler<A extends unknown[] = unknown[]> = (
  request: Request,
  ...rest: A
) => Response | Promise<Response>

const kBody = Symbol('apiward.fetch.body')
type Marked = Request & { [kBody]?: { bytes?: Uint8Array; value?: { parsed: unknown } } }

const fetchRequest: kit.FetchReader<Request> = {
  body: (request) => (request as Marked)[kBody]?.value?.parsed,
  setBody: (request, value) => {
    const marked = request as Marked
    marked[kBody] = { ...marked[kBody], value: { parsed: value } }
  },
  bodyRead: (request, bytes) => {
    const marked = request as Marked
    marked[kBody] = { ...marked[kBody], bytes }
  },
}

/** A `Response` of any realm: a runtime may replace the global class (`@hono/node-server` does). */
function isResponse(value: unknown): value is Response {
  const r = value as Partial<Response> | null
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.status === 'number' &&
    typeof r.headers?.get === 'function'
  )
}

/** The request the handler gets: the original, or a copy with the bytes a guard read. */
function forHandler(request: Request): Request {
  const bytes = (request as Marked)[kBody]?.bytes
  if (bytes === undefined) return request
  const copy = new Request(request, { body: bytes })
  rememberCopy(copy, request)
  return copy
}

/**
 * Wraps a fetch handler `(request, ...rest) => Response` with guards: they run in order before
 * it, the first that denies answers with problem+json (an `answerNow()` answer as it is), and the
 * handler's `Response` gets the headers guards set, their `onSend` transformers (on a JSON body)
 * and `onFinish`. A handler that throws is a problem+json 500 that reveals nothing. The runtime's
 * second argument (Deno's `info`, Bun's `server`, `@hono/node-server`'s bindings) is passed on and
 * gives the client address, behind `trustProxy`.
 *
 * The handler reads the principal with `authOf(request)`, guards' state with `stateOf(request,
 * key)` and a body a guard parsed with `parsedBody(request)`; a body a guard read as bytes is
 * still readable (`request.json()`).
 *
 * @example
 * ```ts
 * Deno.serve(guardFetch([jwt({ jwksUri, issuer, audience })], (request) => Response.json({ who: authOf(request)?.id })))
 * ```
 */
export function guardFetch<A extends unknown[]>(
  guards: GuardInput | readonly GuardInput[],
  handler: FetchHandler<A>,
  options: FetchGuardOptions = {},
): (request: Request, ...rest: A) => Promise<Response> {
  if (typeof handler !== 'function') {
    throw new TypeError('guardFetch(guards, handler): handler must be a function (request) => Response')
  }
  if ((options as HonoOptions).forwardErrors !== undefined) {
    throw new TypeError(
      'guardFetch(): forwardErrors has no meaning around a fetch handler, which has no error handling to forward to; remove it.',
    )
  }
  const config = configure(options, 'guardFetch()')
  const composed = compose(...(Array.isArray(guards) ? guards : [guards as GuardInput]))
  return kit.markGuards(async function apiwardFetch(request: Request, ...rest: A): Promise<Response> {
    const view = new kit.FetchRequest(request, request, fetchRequest, {
      env: rest[0],
      trust: config.trust,
      routing: config.routing,
      secureServer: config.secureServer,
    })
    const binding = new kit.FetchBinding(request)
    const ctx = kit.createFetchContext(request, view, binding, config)
    let response: unknown
    try {
      await composed(ctx)
    } catch (err) {
      return kit.finishResponse(ctx, binding, kit.outcomeResponse(ctx, kit.guardFailure(err), config))
    }
    try {
      response = await handler(forHandler(request), ...rest)
    } catch (err) {
      response = kit.outcomeResponse(ctx, kit.guardFailure(err), config)
    }
    const answer = isResponse(response)
      ? response
      : kit.outcomeResponse(ctx, new TypeError('The fetch handler did not return a Response'), config)
    return kit.finishResponse(ctx, binding, answer)
  }, composed)
}

/** The caller a guard of `guardFetch()` established; `undefined` while anonymous. */
export function authOf(request: Request): Principal | undefined {
  return kit.contextIn(holderOf(request))?.principal
}

/**
 * The parsed body for the handler: what a guard handed on with `ctx.setBody()` (validated input),
 * otherwise, on Hono, what its validator parsed for a JSON or form body; `undefined` when nothing
 * parsed it. Takes a Hono context or the `Request` a `guardFetch()` handler received.
 *
 * @example
 * ```ts
 * app.post('/notes', guard(validate({ body: NoteSchema })), (c) => c.json(parsedBody(c), 201))
 * ```
 */
export function parsedBody(holder: Context | Request): unknown {
  if (holder instanceof Context) return honoRequest.body?.(holder)
  return (holderOf(holder) as Marked)[kBody]?.value?.parsed
}

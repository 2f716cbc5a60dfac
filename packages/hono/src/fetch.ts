import type { GuardInput, Principal } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import { Context } from 'hono'
import { honoRequest } from './context.js'

/** Options of {@link guardFetch}: the adapter options without `forwardErrors` (there is no error handling to hand denials to). */
export type FetchGuardOptions = kit.FetchGuardOptions

/** A fetch handler: Bun's and Deno's `fetch`, a Next.js route handler, Cloudflare's `fetch`. */
export type FetchHandler<A extends unknown[] = unknown[]> = (
  request: Request,
  ...rest: A
) => Response | Promise<Response>

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
  return kit.fetchGuard(guards, handler, options)
}

/** The caller a guard of `guardFetch()` established; `undefined` while anonymous. */
export function authOf(request: Request): Principal | undefined {
  return kit.fetchContextOf(request)?.principal
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
  return kit.fetchParsedBody(holder)
}

import { compose, type GuardInput } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { Context, MiddlewareHandler } from 'hono'
import { contextOf } from './context.js'
import { configure, type HonoOptions } from './options.js'

/** Options of {@link createGuard}: the adapter options, `trustProxy` and `routing`. */
export type HonoGuardOptions = HonoOptions

/** The `guard()` function of {@link createGuard}. */
export type HonoGuard = (...guards: GuardInput[]) => MiddlewareHandler

/**
 * Builds a `guard()` bound to options (trusted proxies, routing policy, events bus, problem type
 * base, error forwarding).
 *
 * With `forwardErrors`, a denial is thrown to Hono's `app.onError()` (install `errorHandler()`
 * there); an `answerNow()` answer is still written at once, since Hono hands its error handler
 * only `Error`s.
 *
 * @example
 * ```ts
 * const guard = createGuard({ trustProxy: 1 })
 * app.get('/notes', guard(jwt({ ... })), listNotes)
 * ```
 */
export function createGuard(options: HonoGuardOptions = {}): HonoGuard {
  const config = configure(options, 'createGuard()')
  const hooks: kit.FetchMiddlewareHooks<Context> = {
    context: (c) => contextOf(c, config),
    // Only an established principal is written: Hono's variables are a map per request.
    passed: (c, ctx) => {
      if (ctx.principal !== undefined) c.set('auth', ctx.principal)
    },
    response: (c) => c.res,
    // Hono's `c.res` setter copies the old response's headers onto the new one, which would bring
    // back a header a guard removed, so the old one goes first.
    replace: (c, response) => {
      c.res = undefined
      c.res = response
    },
  }
  return function guard(...guards: GuardInput[]): MiddlewareHandler {
    const composed = compose(...guards)
    return kit.markGuards(kit.fetchMiddleware(composed, config, hooks), composed)
  }
}

/**
 * Protects a route, a group of routes or a whole app with guards. Guards run in order; the first
 * that denies answers with problem+json, otherwise the request goes on with `c.get('auth')` set.
 *
 * @example
 * ```ts
 * import { guard } from '@apiward/hono'
 * app.get('/notes/:id', guard(jwt({ jwksUri, issuer, audience }), scopes('notes:read')), handler)
 * app.use('/admin/*', guard(jwt(opts), roles('admin')))
 * ```
 */
export const guard: HonoGuard = createGuard()

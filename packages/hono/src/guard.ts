import { Answer, compose, type GuardInput } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { Context, MiddlewareHandler, Next } from 'hono'
import { contextOf, finish, finishRes, own } from './context.js'
import { configure, type HonoOptions } from './options.js'

/** Options of {@link createGuard}: the adapter options, `trustProxy` and `routing`. */
export type HonoGuardOptions = HonoOptions

/** The `guard()` function of {@link createGuard}. */
export type HonoGuard = (...guards: GuardInput[]) => MiddlewareHandler

const passed = (): undefined => undefined
const failed = (_a: unknown, _b: unknown, _c: unknown, _ctx: unknown, failure: unknown): unknown => failure

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
  const forward = options.forwardErrors === true
  return function guard(...guards: GuardInput[]): MiddlewareHandler {
    const composed = compose(...guards)
    return kit.markGuards(async function apiwardGuard(c: Context, next: Next): Promise<Response | undefined> {
      const owner = kit.contextIn(c) === undefined
      const ctx = contextOf(c, config)
      const ran = kit.runGuard(composed, ctx, c, undefined, undefined, passed, failed)
      const failure = ran instanceof Promise ? await ran : ran
      if (failure !== undefined) {
        if (forward && failure instanceof Error && !Answer.is(failure)) throw failure
        const answer = kit.outcomeResponse(ctx, failure, config)
        return owner ? finish(c, ctx, answer) : answer
      }
      // Only an established principal is written: Hono's variables are a map per request.
      if (ctx.principal !== undefined) c.set('auth', ctx.principal)
      if (!owner) {
        await next()
        return undefined
      }
      try {
        await own(c, next)
      } catch (err) {
        // Hono hands its error handler only Errors; a thrown null or string comes up to here.
        c.res = undefined
        c.res = kit.outcomeResponse(ctx, kit.guardFailure(err), config)
      }
      const finishing = finishRes(c, ctx)
      if (finishing !== undefined) await finishing
      return undefined
    }, composed)
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

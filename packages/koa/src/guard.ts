import { compose, createKey, type GuardInput, type SecurityContext } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { Middleware, Next, ParameterizedContext } from 'koa'
import { contextOf, sendProblem } from './context.js'

/**
 * Options of {@link createGuard}: the adapter options. With `forwardErrors`, install
 * `errorHandler()` first: Koa's default error handling would answer `text/plain`.
 */
export type KoaGuardOptions = kit.AdapterOptions

/** The `guard()` function of {@link createGuard}. */
export type KoaGuard = (...guards: GuardInput[]) => Middleware

/** Set once a guard wraps the downstream middleware to apply the `onSend` transformers. */
const kTransforming = createKey<true>('koa.transforming')

async function nextThenTransform(
  ctx: ParameterizedContext,
  sctx: SecurityContext,
  next: Next,
): Promise<void> {
  await next()
  const body: unknown = ctx.body
  if (!kit.isJsonBody(body)) return
  const type = ctx.response.get('Content-Type')
  const out = sctx.transformBody(body, ctx.status)
  ctx.body = out
  // Koa 2 resets the type of a JSON body to application/json; keep a vendor JSON type.
  if (type !== '' && kit.isJsonBody(out)) ctx.set('Content-Type', type)
}

// Koa serialises the body after the middleware chain: the first guard to allow once transformers
// are registered wraps what follows it.
const allow: kit.Allowed<ParameterizedContext, Next, undefined, unknown> = (ctx, next, _, sctx) => {
  if (sctx.principal !== undefined) ctx.state.auth = sctx.principal
  if (!sctx.hasSendTransforms || sctx.get(kTransforming) === true) return next()
  sctx.set(kTransforming, true)
  return nextThenTransform(ctx, sctx, next)
}

/**
 * Builds a `guard()` bound to options (events bus, problem type base, error forwarding).
 *
 * @example
 * ```ts
 * const guard = createGuard({ problemTypeBase: 'https://api.example.com/problems/' })
 * router.get('/notes', guard(jwt({ ... })), listNotes)
 * ```
 */
export function createGuard(options: KoaGuardOptions = {}): KoaGuard {
  kit.checkAdapterOptions(options, 'createGuard()')
  const forward = options.forwardErrors === true
  const deny: kit.Denied<ParameterizedContext, Next, undefined, unknown> = (ctx, _n, _, _s, failure) => {
    if (forward || ctx.headerSent) throw failure
    sendProblem(ctx, failure, options)
  }
  return function guard(...guards: GuardInput[]): Middleware {
    const composed = compose(...guards)
    // A synchronous composition continues synchronously: the allowed path hands Koa the
    // promise of `next()` and makes none of its own.
    return kit.markGuards(function apiwardGuard(ctx: ParameterizedContext, next: Next): unknown {
      return kit.runGuard(composed, contextOf(ctx, options), ctx, next, undefined, allow, deny)
    }, composed)
  }
}

/**
 * Protects a route, a router or a whole app with guards. Guards run in order; the first that
 * denies answers with problem+json, otherwise the request goes on with `ctx.state.auth` set.
 *
 * @example
 * ```ts
 * import { guard } from '@apiward/koa'
 * router.get('/notes/:id', guard(jwt({ jwksUri, issuer, audience }), scopes('notes:read')), handler)
 * app.use(guard(rateLimit({ points: 100, duration: 60 })))
 * ```
 */
export const guard: KoaGuard = createGuard()

import { compose, type Guard, type GuardInput, type SecurityContext } from '@apiward/core'
import { type AdapterOptions, checkAdapterOptions, isJsonBody, runGuard } from '@apiward/core/adapter'
import type { Middleware, Next, ParameterizedContext } from 'koa'
import { bindingOf, contextOf, type KoaBinding, sendProblem } from './context.js'

/**
 * Options of {@link createGuard}: the adapter options. With `forwardErrors`, install
 * `errorHandler()` first: Koa's default error handling would answer `text/plain`.
 */
export type KoaGuardOptions = AdapterOptions

/** The `guard()` function of {@link createGuard}. */
export type KoaGuard = (...guards: GuardInput[]) => Middleware

async function nextThenTransform(
  ctx: ParameterizedContext,
  sctx: SecurityContext,
  next: Next,
): Promise<void> {
  await next()
  const body: unknown = ctx.body
  if (!isJsonBody(body)) return
  const type = ctx.response.get('Content-Type')
  const out = sctx.transformBody(body, ctx.status)
  ctx.body = out
  // Koa 2 resets the type of a JSON body to application/json; keep a vendor JSON type.
  if (type !== '' && isJsonBody(out)) ctx.set('Content-Type', type)
}

function allow(
  ctx: ParameterizedContext,
  binding: KoaBinding,
  next: Next,
  sctx: SecurityContext,
): Promise<unknown> {
  if (sctx.principal !== undefined) ctx.state.auth = sctx.principal
  if (binding.sendPending) {
    binding.sendPending = false
    return nextThenTransform(ctx, sctx, next)
  }
  return next()
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
  checkAdapterOptions(options, 'createGuard()')
  const forward = options.forwardErrors === true
  const deny = (
    ctx: ParameterizedContext,
    _b: KoaBinding,
    _n: Next,
    _s: SecurityContext,
    failure: unknown,
  ) => {
    if (forward || ctx.headerSent) throw failure
    sendProblem(ctx, failure, options)
  }
  return function guard(...guards: GuardInput[]): Middleware {
    const composed: Guard = compose(...guards)
    // A synchronous composition continues synchronously: the allowed path hands Koa the
    // promise of `next()` and makes none of its own.
    return function apiwardGuard(ctx: ParameterizedContext, next: Next): unknown {
      const binding = bindingOf(ctx, options)
      const sctx = contextOf(ctx, options)
      return runGuard<ParameterizedContext, KoaBinding, Next, unknown>(
        composed,
        sctx,
        ctx,
        binding,
        next,
        allow,
        deny,
      )
    }
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

import {
  type AdapterOptions,
  checkAdapterOptions,
  compose,
  emptyJsonBodyError,
  type Guard,
  type GuardInput,
  guardFailure,
} from '@apiward/core'
import type { Middleware, Next, ParameterizedContext } from 'koa'
import { bindingOf, type KoaBinding, sendProblem } from './context.js'

/** Options of {@link createGuard}. */
export interface KoaGuardOptions extends AdapterOptions {
  /**
   * Throw denials to the upstream middleware instead of answering them at once, so your own
   * error middleware sees every `ApiError`. Install `errorHandler()` first (or render
   * `ApiError`s yourself): Koa's default error handling would answer `text/plain`. Default:
   * `false`, the guard answers denials with problem+json itself, so a route is safe even
   * without an error handler.
   */
  forwardErrors?: boolean
}

/** The `guard()` function of {@link createGuard}. */
export type KoaGuard = (...guards: GuardInput[]) => Middleware

/**
 * Whether Koa would serialise this body as JSON: an object or array, not a buffer, a Node or
 * Web stream, a `Blob` or a `Response`.
 */
function isJsonBody(body: unknown): body is object {
  if (typeof body !== 'object' || body === null || ArrayBuffer.isView(body)) return false
  const b = body as { pipe?: unknown; getReader?: unknown; arrayBuffer?: unknown }
  return (
    typeof b.pipe !== 'function' && typeof b.getReader !== 'function' && typeof b.arrayBuffer !== 'function'
  )
}

async function nextThenTransform(ctx: ParameterizedContext, binding: KoaBinding, next: Next): Promise<void> {
  await next()
  const body: unknown = ctx.body
  if (!isJsonBody(body)) return
  const type = ctx.response.get('Content-Type')
  const out = binding.sctx.transformBody(body)
  ctx.body = out
  // Koa 2 resets the type of a JSON body to application/json; keep a vendor JSON type.
  if (type !== '' && isJsonBody(out)) ctx.set('Content-Type', type)
}

function allow(ctx: ParameterizedContext, binding: KoaBinding, next: Next): Promise<unknown> {
  const principal = binding.sctx.principal
  if (principal !== undefined) ctx.state.auth = principal
  if (binding.sendPending) {
    binding.sendPending = false
    return nextThenTransform(ctx, binding, next)
  }
  return next()
}

function deny(ctx: ParameterizedContext, err: unknown, forward: boolean, options: AdapterOptions): void {
  const failure = guardFailure(err)
  if (forward || ctx.headerSent) throw failure
  sendProblem(ctx, failure, options)
}

async function settle(
  pending: PromiseLike<void>,
  ctx: ParameterizedContext,
  binding: KoaBinding,
  next: Next,
  forward: boolean,
  options: AdapterOptions,
): Promise<unknown> {
  try {
    await pending
  } catch (err) {
    deny(ctx, err, forward, options)
    return
  }
  return allow(ctx, binding, next)
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
  return function guard(...guards: GuardInput[]): Middleware {
    const composed: Guard = compose(...guards)
    // The guard's own report is synchronous for synchronous guards, so the allowed path hands
    // Koa the promise of `next()` and makes none of its own.
    return function apiwardGuard(ctx: ParameterizedContext, next: Next): unknown {
      let binding: KoaBinding
      let result: void | PromiseLike<void>
      try {
        binding = bindingOf(ctx, options)
        // After the body parser an empty JSON body reads as `{}`; the guards never see one.
        const malformed = emptyJsonBodyError(ctx.req)
        if (malformed !== undefined) throw malformed
        result = composed(binding.sctx)
      } catch (err) {
        return deny(ctx, err, forward, options)
      }
      if (result !== undefined && typeof result.then === 'function') {
        return settle(result, ctx, binding, next, forward, options)
      }
      return allow(ctx, binding, next)
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

import {
  type AdapterOptions,
  checkAdapterOptions,
  compose,
  emptyJsonBodyError,
  type GuardInput,
  guardFailure,
  type SecurityContext,
} from '@apiward/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { contextOf, sendProblem } from './context.js'

/** Options of {@link createGuard}. */
export interface ExpressGuardOptions extends AdapterOptions {
  /**
   * Pass denials to Express' error middleware (`next(err)`) instead of answering them at once.
   * Use it when your own error middleware must see every `ApiError`; install `errorHandler()`
   * (or render `ApiError`s yourself) so they still become problem+json. Default: `false`, the
   * guard answers denials with problem+json itself, so a route is safe even without an
   * error handler.
   */
  forwardErrors?: boolean
}

/** The `guard()` function of {@link createGuard}. */
export type ExpressGuard = (...guards: GuardInput[]) => RequestHandler

/**
 * Builds a `guard()` bound to options (events bus, problem type base, error forwarding).
 *
 * @example
 * ```ts
 * const guard = createGuard({ problemTypeBase: 'https://api.example.com/problems/' })
 * app.get('/notes', guard(jwt({ ... })), listNotes)
 * ```
 */
export function createGuard(options: ExpressGuardOptions = {}): ExpressGuard {
  checkAdapterOptions(options, 'createGuard()')
  const forward = options.forwardErrors === true
  const deny = (req: Request, res: Response, next: NextFunction, err: unknown): void => {
    const failure = guardFailure(err)
    if (forward || res.headersSent) next(failure)
    else sendProblem(req, res, failure, options)
  }
  const allow = (req: Request, ctx: SecurityContext, next: NextFunction): void => {
    // Only an established principal is written: a new property on every request costs.
    if (ctx.principal !== undefined) req.auth = ctx.principal
    next()
  }
  return function guard(...guards: GuardInput[]): RequestHandler {
    const composed = compose(...guards)
    return function apiwardGuard(req: Request, res: Response, next: NextFunction): void {
      let ctx: SecurityContext
      let result: void | PromiseLike<void>
      try {
        ctx = contextOf(req, res, options)
        // After express.json() an empty JSON body reads as `{}`; the guards never see one.
        const malformed = emptyJsonBodyError(req)
        if (malformed !== undefined) throw malformed
        result = composed(ctx)
      } catch (err) {
        deny(req, res, next, err)
        return
      }
      // A synchronous composition answers here, without a promise or a closure.
      if (result === undefined || typeof result.then !== 'function') allow(req, ctx, next)
      else {
        result.then(
          () => allow(req, ctx, next),
          (err: unknown) => deny(req, res, next, err),
        )
      }
    }
  }
}

/**
 * Protects a route, a router or a whole app with guards. Guards run in order; the first that
 * denies answers with problem+json, otherwise the request goes on with `req.auth` set.
 *
 * @example
 * ```ts
 * import { guard } from '@apiward/express'
 * app.get('/notes/:id', guard(jwt({ jwksUri, issuer, audience }), scopes('notes:read')), handler)
 * app.use('/admin', guard(jwt(opts), roles('admin')), adminRouter)
 * ```
 */
export const guard: ExpressGuard = createGuard()

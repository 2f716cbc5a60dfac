import { type AdapterOptions, compose, type GuardInput, runGuard } from '@apiward/core'
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
  const forward = options.forwardErrors === true
  return function guard(...guards: GuardInput[]): RequestHandler {
    const composed = compose(...guards)
    return function apiwardGuard(req: Request, res: Response, next: NextFunction): void {
      let ctx: ReturnType<typeof contextOf>
      try {
        ctx = contextOf(req, res, options)
      } catch (err) {
        if (forward) next(err)
        else sendProblem(req, res, err, options)
        return
      }
      runGuard(composed, ctx, (err) => {
        if (err === undefined) {
          req.auth = ctx.principal
          next()
        } else if (forward || res.headersSent) next(err)
        else sendProblem(req, res, err, options)
      })
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

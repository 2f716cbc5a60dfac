import { compose, type GuardInput } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { contextOf, sendProblem } from './context.js'

/** Options of {@link createGuard}: the adapter options, `forwardErrors` included. */
export type ExpressGuardOptions = kit.AdapterOptions

/** The `guard()` function of {@link createGuard}. */
export type ExpressGuard = (...guards: GuardInput[]) => RequestHandler

const allow: kit.Allowed<Request, Response, NextFunction, void> = (req, _res, next, ctx) => {
  // Only an established principal is written: a new property on every request costs.
  if (ctx.principal !== undefined) req.auth = ctx.principal
  next()
}

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
  kit.checkAdapterOptions(options, 'createGuard()')
  const forward = options.forwardErrors === true
  const deny: kit.Denied<Request, Response, NextFunction, void> = (req, res, next, _ctx, failure) => {
    if (forward || res.headersSent) next(failure)
    else sendProblem(req, res, failure, options)
  }
  return function guard(...guards: GuardInput[]): RequestHandler {
    const composed = compose(...guards)
    return kit.markGuards(function apiwardGuard(req: Request, res: Response, next: NextFunction): void {
      kit.runGuard(composed, contextOf(req, res, options), req, res, next, allow, deny)
    }, composed)
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

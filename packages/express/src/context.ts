import type { SecurityContext, StateKey } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { Request, Response } from 'express'
import { expressRequest } from './request.js'

/** Express serialises a handler's object body in `res.json`, so transformers hook there. */
class ExpressBinding extends kit.NodeBinding {
  override interceptSend(ctx: SecurityContext): void {
    const res = this.res as Response
    const json = res.json
    res.json = function transformedJson(this: Response, body: unknown) {
      return json.call(this, ctx.transformBody(body, this.statusCode))
    } as Response['json']
  }
}

// Express gives each response a new prototype: the writeHead hook goes there, not on the response.
const bind = (res: Response) => new ExpressBinding(res, false, true)

// Beside the request, not on it: Express gives `req` a new prototype on every request, and a
// property added to it then costs V8 a new hidden class (`WeakContexts`).
const contexts = new kit.WeakContexts<Request, Response>(expressRequest, bind)

/**
 * The request's `SecurityContext`, created on first use. Every `guard()` and the error handler
 * on the request's way share it.
 */
export function contextOf(req: Request, res: Response, options: kit.AdapterOptions): SecurityContext {
  return contexts.of(req, req, res, options)
}

/**
 * What a guard stored for the handler under a typed key (`createKey<T>()`): validated input, a
 * loaded resource. `undefined` when no guard set it, or no guard ran on the request.
 *
 * @example
 * ```ts
 * app.get('/notes/:id', guard(loadNote), (req, res) => res.json(stateOf(req, kNote)))
 * ```
 */
export const stateOf: <T>(req: Request, key: StateKey<T>) => T | undefined = kit.stateIn

/**
 * The Express request behind a guard's context, typed, for key functions and guards of your own
 * that need what only Express has (Passport's `req.user`, a session); `undefined` for a context
 * that no Express guard made.
 *
 * @example
 * ```ts
 * rateLimit({ points: 100, duration: 60, key: (ctx) => frameworkRequestOf(ctx)?.user?.id })
 * ```
 */
export const frameworkRequestOf: (ctx: SecurityContext) => Request | undefined = kit.frameworkOf

/**
 * Answers the request with what a guard threw, through the request's context: a problem+json
 * document for any error, or the answer of `answerNow()`.
 */
export function sendProblem(req: Request, res: Response, thrown: unknown, options: kit.AdapterOptions): void {
  kit.writeOutcome(res, req.method, contextOf(req, res, options), thrown, options)
}

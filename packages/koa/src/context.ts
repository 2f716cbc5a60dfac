import type { ServerResponse } from 'node:http'
import type { SecurityContext, StateKey } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { ParameterizedContext } from 'koa'
import { koaRequest } from './request.js'

// Koa serialises the body after the middleware chain, where the guard that allowed applies the
// transformers: the kit's binding as it is.
const bind = (res: ServerResponse) => new kit.NodeBinding(res)

/**
 * The request's `SecurityContext`, created on first use. Every `guard()` and the error handler
 * on the request's way share it.
 */
export function contextOf(ctx: ParameterizedContext, options: kit.AdapterOptions = {}): SecurityContext {
  return kit.contextFor(ctx, ctx.req, koaRequest, bind, ctx.res, options)
}

/**
 * What a guard stored for the handler under a typed key (`createKey<T>()`): validated input, a
 * loaded resource. `undefined` when no guard set it, or no guard ran on the request.
 *
 * @example
 * ```ts
 * router.get('/notes/:id', guard(loadNote), (ctx) => { ctx.body = stateOf(ctx, kNote) })
 * ```
 */
export const stateOf: <T>(ctx: ParameterizedContext, key: StateKey<T>) => T | undefined = kit.stateIn

/**
 * The Koa context behind a guard's context, typed, for key functions and guards of your own that
 * need what only Koa has (koa-passport's `ctx.state.user`, a session); `undefined` for a context
 * that no Koa guard made.
 *
 * @example
 * ```ts
 * rateLimit({ points: 100, duration: 60, key: (ctx) => frameworkRequestOf(ctx)?.state.user?.id })
 * ```
 */
export const frameworkRequestOf: (ctx: SecurityContext) => ParameterizedContext | undefined = kit.frameworkOf

/**
 * Answers the request with what a guard threw, through the request's context: a problem+json
 * document for any error, or the answer of `answerNow()`. Koa writes it (`ctx.body`), so
 * upstream middleware still sees the status and a `HEAD` request gets the headers without the
 * body. An error after the headers went out is still reported but cannot change the response.
 */
export function sendProblem(ctx: ParameterizedContext, thrown: unknown, options: kit.AdapterOptions): void {
  const { status, headers, body } = kit.renderOutcome(contextOf(ctx, options), thrown, options)
  if (ctx.headerSent) return
  // Koa would leave the request hanging: nothing went out, so the answer takes the response over.
  if (ctx.respond === false) ctx.respond = true
  for (const name in headers) ctx.set(name, headers[name]!)
  // A null body is Koa's "explicitly empty"; the status set after it stays (a 308 without a body).
  ctx.body = body ?? null
  ctx.status = status
}

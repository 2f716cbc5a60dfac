import {
  type AdapterOptions,
  incomingRequestId,
  REQUEST_ID_HEADER,
  type ResponseBinding,
  renderProblem,
  SecurityContext,
} from '@apiward/core'
import type { ParameterizedContext } from 'koa'
import { KoaSecurityRequest } from './request.js'

const kBinding = Symbol.for('apiward.koa.context')

type WithBinding = { [kBinding]?: KoaBinding }

/** Lends a `SecurityContext` the Koa response, and remembers what the guards asked of it. */
export class KoaBinding implements ResponseBinding {
  sctx!: SecurityContext
  /**
   * `onSend` transformers were registered and no guard wraps the downstream handler for them
   * yet: the next guard to allow the request does.
   */
  sendPending = false
  readonly #ctx: ParameterizedContext

  constructor(ctx: ParameterizedContext) {
    this.#ctx = ctx
  }

  setHeader(name: string, value: string): void {
    const res = this.#ctx.res
    if (!res.headersSent) res.setHeader(name, value)
  }

  interceptSend(): void {
    this.sendPending = true
  }

  watchFinish(): void {
    const res = this.#ctx.res
    const sctx = this.sctx
    res.once('close', () => sctx.finish(res.statusCode, !res.writableFinished))
  }
}

/** The request's binding, created with its `SecurityContext` on first use. */
export function bindingOf(ctx: ParameterizedContext, options: AdapterOptions): KoaBinding {
  const existing = (ctx as WithBinding)[kBinding]
  if (existing !== undefined) return existing
  const binding = new KoaBinding(ctx)
  const requestId = incomingRequestId(ctx.req.headers, options.requestIdHeader)
  binding.sctx = new SecurityContext(new KoaSecurityRequest(ctx), binding, {
    requestId,
    events: options.events,
  })
  ;(ctx as WithBinding)[kBinding] = binding
  const echo = options.requestIdHeader
  if (echo !== false && !ctx.res.headersSent) ctx.res.setHeader(echo ?? REQUEST_ID_HEADER, requestId)
  return binding
}

/**
 * The request's `SecurityContext`, created on first use. Every `guard()` and the error handler
 * on the request's way share it.
 */
export function contextOf(ctx: ParameterizedContext, options: AdapterOptions = {}): SecurityContext {
  return bindingOf(ctx, options).sctx
}

/**
 * Answers the request with a problem+json document for any error, through the request's
 * context: Koa writes it (`ctx.body`), so upstream middleware still sees the status and a
 * `HEAD` request gets the headers without the body. An error after the headers went out is
 * still reported but cannot change the response.
 */
export function sendProblem(ctx: ParameterizedContext, err: unknown, options: AdapterOptions): void {
  const { status, headers, body } = renderProblem(contextOf(ctx, options), err, options)
  if (ctx.headerSent) return
  // Koa would leave the request hanging: nothing went out, so the problem takes the response over.
  if (ctx.respond === false) ctx.respond = true
  ctx.status = status
  for (const name in headers) ctx.set(name, headers[name]!)
  ctx.body = JSON.stringify(body)
}

import {
  type AdapterOptions,
  incomingRequestId,
  REQUEST_ID_HEADER,
  type ResponseBinding,
  renderProblem,
  SecurityContext,
} from '@apiward/core'
import type { Request, Response } from 'express'
import { ExpressSecurityRequest } from './request.js'

const kContext = Symbol.for('apiward.express.context')

type WithContext = { [kContext]?: SecurityContext }

class ExpressBinding implements ResponseBinding {
  ctx!: SecurityContext
  readonly #res: Response

  constructor(res: Response) {
    this.#res = res
  }

  setHeader(name: string, value: string): void {
    if (!this.#res.headersSent) this.#res.setHeader(name, value)
  }

  interceptSend(): void {
    const res = this.#res
    const ctx = this.ctx
    const json = res.json
    res.json = function transformedJson(this: Response, body: unknown) {
      return json.call(this, ctx.transformBody(body))
    } as Response['json']
  }

  watchFinish(): void {
    const res = this.#res
    const ctx = this.ctx
    res.once('close', () => ctx.finish(res.statusCode, !res.writableFinished))
  }
}

/**
 * The request's `SecurityContext`, created on first use. Every `guard()` and the error handler
 * on the request's way share it.
 */
export function contextOf(req: Request, res: Response, options: AdapterOptions): SecurityContext {
  const existing = (req as WithContext)[kContext]
  if (existing !== undefined) return existing
  const binding = new ExpressBinding(res)
  const requestId = incomingRequestId(req.headers, options.requestIdHeader)
  const ctx = new SecurityContext(new ExpressSecurityRequest(req), binding, {
    requestId,
    events: options.events,
  })
  binding.ctx = ctx
  ;(req as WithContext)[kContext] = ctx
  const echo = options.requestIdHeader
  if (echo !== false && !res.headersSent) res.setHeader(echo ?? REQUEST_ID_HEADER, requestId)
  return ctx
}

/** Writes a problem+json response for any error, through the request's context. */
export function sendProblem(req: Request, res: Response, err: unknown, options: AdapterOptions): void {
  const ctx = contextOf(req, res, options)
  const { status, headers, body } = renderProblem(ctx, err, options)
  const payload = JSON.stringify(body)
  res.status(status)
  for (const name in headers) res.setHeader(name, headers[name]!)
  res.setHeader('Content-Length', Buffer.byteLength(payload))
  res.end(req.method === 'HEAD' ? undefined : payload)
}

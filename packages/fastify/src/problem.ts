import { compose, type GuardInput } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { contextOf } from './context.js'

/** Fastify's own error codes, as the kinds of errors the adapter kit knows. */
type Options = kit.AdapterOptions

const FST_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'entity.parse.failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body.empty_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'entity.too.large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'request.size.invalid',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'media.unsupported',
  FST_ERR_CTP_INVALID_TYPE: 'media.unsupported',
  FST_ERR_CTP_EMPTY_TYPE: 'media.unsupported',
  FST_ERR_BAD_URL: 'path.malformed',
}

/**
 * Maps what only Fastify says: a schema violation becomes a 400 listing each violation with its
 * JSON pointer, and `FST_ERR_*` codes the errors they stand for. Anything else is left as it is
 * for the kit's rendering (a generic 500 reported to `onUnexpectedError`).
 */
export function fastifyError(err: unknown): unknown {
  return kit.codedFrameworkError(err, FST_CODES, 'FST_ERR_VALIDATION')
}

/**
 * Answers a request with what a guard threw, through the request's context (so the request ID
 * and the headers guards set are kept): a problem+json document for any error, or the answer of
 * `answerNow()`. Does nothing once the response has started.
 */
export function sendProblem(req: FastifyRequest, reply: FastifyReply, err: unknown, opts: Options) {
  if (reply.sent || reply.raw.headersSent) return
  const out = kit.renderOutcome(contextOf(req, reply, opts), fastifyError(err), opts)
  reply.code(out.status).headers(out.headers).send(out.body)
}

/** The handler Fastify's `frameworkErrors` server option takes. */
export type FrameworkErrorsHandler = (error: Error, request: FastifyRequest, reply: FastifyReply) => void

/** Options of {@link frameworkErrors}: the adapter options, and the app-wide guards whose headers these answers carry. */
export interface FrameworkErrorsOptions extends kit.AdapterOptions {
  /** The app-wide guards (the plugin's `guards`): their leading header guards (secure headers, CORS) run on these answers too. */
  guards?: readonly GuardInput[]
}

/**
 * A handler for Fastify's `frameworkErrors` server option: Fastify's router answers a malformed
 * URL (400 `request.invalid_path`) and, on Fastify 5, a path parameter over `maxParamLength`
 * (414) before any plugin runs, so only this option turns those answers into problem+json too,
 * with the headers of the app-wide header guards given as `guards`.
 *
 * @example
 * ```ts
 * const app = Fastify({ frameworkErrors: frameworkErrors({ guards: [secureHeaders()] }) })
 * await app.register(apiward, { guards: [secureHeaders()] })
 * ```
 */
export function frameworkErrors(options: FrameworkErrorsOptions = {}): FrameworkErrorsHandler {
  const { guards, ...adapter } = options
  kit.checkAdapterOptions(adapter, 'frameworkErrors()')
  const headerGuards = guards === undefined ? undefined : compose(...guards)
  return function apiwardFrameworkErrors(error, request, reply) {
    if (headerGuards !== undefined) kit.applyHeaderGuards(headerGuards, contextOf(request, reply, adapter))
    sendProblem(request, reply, error, adapter)
  }
}

import { fieldErrorsOf } from '@apiward/core'
import { type AdapterOptions, frameworkErrorToApiError, renderOutcome } from '@apiward/core/adapter'
import { BadRequest } from '@apiward/errors'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { contextOf } from './context.js'

/** Fastify's own error codes, as the kinds of errors the adapter kit knows. */
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

const VALIDATED_PARTS: Record<string, string> = {
  body: 'body',
  querystring: 'query string',
  params: 'path parameters',
  headers: 'headers',
}

/**
 * Maps what only Fastify says: a schema violation becomes a 400 listing each violation with its
 * JSON pointer, and `FST_ERR_*` codes the errors they stand for. Anything else is left as it is
 * for the kit's rendering (a generic 500 reported to `onUnexpectedError`).
 */
export function fastifyError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err
  const { code, validation, validationContext } = err as Record<string, unknown>
  if (code === 'FST_ERR_VALIDATION' || (Array.isArray(validation) && typeof validationContext === 'string')) {
    const part = typeof validationContext === 'string' ? VALIDATED_PARTS[validationContext] : undefined
    return new BadRequest({
      code: 'request.invalid',
      detail: `The request ${part ?? 'input'} failed validation.`,
      errors: Array.isArray(validation) ? fieldErrorsOf(validation) : undefined,
      cause: err,
    })
  }
  return typeof code === 'string' && code in FST_CODES ? frameworkErrorToApiError(err, FST_CODES) : err
}

/**
 * Answers a request with what a guard threw, through the request's context (so the request ID
 * and the headers guards set are kept): a problem+json document for any error, or the answer of
 * `answerNow()`. Does nothing once the response has started.
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  thrown: unknown,
  options: AdapterOptions = {},
): void {
  if (reply.sent || reply.raw.headersSent) return
  const { status, headers, body } = renderOutcome(
    contextOf(request, reply, options),
    fastifyError(thrown),
    options,
  )
  reply.code(status).headers(headers).send(body)
}

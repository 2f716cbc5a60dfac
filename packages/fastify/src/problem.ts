import { type AdapterOptions, renderProblem } from '@apiward/core'
import { BadRequest, InternalServerError, type ProblemFieldError, toProblem } from '@apiward/errors'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { contextOf } from './context.js'

/** How many schema violations a problem lists at most. */
const MAX_FIELD_ERRORS = 20

const VALIDATED_PARTS: Record<string, string> = {
  body: 'body',
  querystring: 'query string',
  params: 'path parameters',
  headers: 'headers',
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}

interface SchemaViolation {
  instancePath?: unknown
  keyword?: unknown
  message?: unknown
  params?: { missingProperty?: unknown; additionalProperty?: unknown }
}

function fieldErrors(validation: readonly SchemaViolation[]): ProblemFieldError[] {
  const out: ProblemFieldError[] = []
  for (const v of validation.slice(0, MAX_FIELD_ERRORS)) {
    if (typeof v?.message !== 'string') continue
    let pointer = typeof v.instancePath === 'string' ? v.instancePath : ''
    const property = v.params?.missingProperty ?? v.params?.additionalProperty
    if (typeof property === 'string') pointer += `/${escapePointer(property)}`
    out.push(
      typeof v.keyword === 'string'
        ? { pointer, message: v.message, code: v.keyword }
        : { pointer, message: v.message },
    )
  }
  return out
}

/**
 * Maps what only Fastify says precisely: a schema violation becomes a 400 listing each violation
 * with its JSON pointer (the messages describe the schema, not the server). The rest (parse
 * errors, body limits, malformed URLs) is left to the core's `frameworkErrorToApiError`.
 */
export function fastifyError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err
  const { code, validation, validationContext } = err as {
    code?: unknown
    validation?: unknown
    validationContext?: unknown
  }
  if (code === 'FST_ERR_VALIDATION' || (Array.isArray(validation) && typeof validationContext === 'string')) {
    const part = typeof validationContext === 'string' ? VALIDATED_PARTS[validationContext] : undefined
    return new BadRequest({
      code: 'request.invalid',
      detail: `The request ${part ?? 'input'} failed validation.`,
      errors: Array.isArray(validation) ? fieldErrors(validation) : undefined,
      cause: err,
    })
  }
  return err
}

/**
 * Answers a request with the problem+json rendering of any error, through the request's
 * context (so the request ID and the headers guards set are kept). Unexpected errors become a
 * generic 500 reported to `onUnexpectedError`. Does nothing once the response has started.
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  options: AdapterOptions = {},
): void {
  if (reply.sent || reply.raw.headersSent) return
  const ctx = contextOf(request, reply, options)
  let rendered: ReturnType<typeof renderProblem>
  try {
    rendered = renderProblem(ctx, fastifyError(err), options)
  } catch {
    // A failing onUnexpectedError or event listener must not hand the error to Fastify's own
    // handler, which would put its message in the body.
    rendered = toProblem(new InternalServerError(), {
      requestId: ctx.requestId,
      typeBase: options.problemTypeBase,
    })
  }
  reply.code(rendered.status).headers(rendered.headers).send(JSON.stringify(rendered.body))
}

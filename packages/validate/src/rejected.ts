import type { SecurityContext } from '@apiward/core'
import { ApiError, BadRequest, type ProblemFieldError } from '@apiward/errors'
import type { RequestPart } from './events.js'

/** A failed field as `validate()` lists it: where (`in`, `pointer`), what, and the schema keyword. */
export interface ValidationFieldError extends ProblemFieldError {
  /** The part of the request: `body`, `query`, `params` or `headers`. */
  readonly in: RequestPart
  /** The JSON Schema keyword that failed (`required`, `additionalProperties`, `type`, ...). */
  readonly keyword: string
}

/** Emits `validation.rejected` for a refusal of the request's `part` and returns the error to throw. */
export function rejectedEvent(ctx: SecurityContext, part: RequestPart, err: unknown): unknown {
  if (ApiError.is(err) && err.status < 500 && ctx.events.hasListeners) {
    ctx.emit('validation.rejected', {
      severity: 'warn',
      code: err.code,
      part,
      pointers: (err.errors ?? []).slice(0, 10).map((e) => e.pointer),
    })
  }
  return err
}

const PARTS: Readonly<Record<RequestPart, string>> = {
  body: 'body',
  query: 'query string',
  params: 'path parameters',
  headers: 'headers',
}

/** The 400 `validation.rejected` listing each failed field of `part`. */
export function rejected(part: RequestPart, errors: readonly ValidationFieldError[]): ApiError {
  return new BadRequest({
    code: 'validation.rejected',
    detail: `The request ${PARTS[part]} failed validation.`,
    errors,
  })
}

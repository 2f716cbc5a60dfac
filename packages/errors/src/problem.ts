import { ApiError, type ProblemFieldError } from './api-error.js'
import { InternalServerError } from './http-errors.js'

/** The media type of RFC 9457 problem documents. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/** Default prefix of a problem's `type` URI; the error code is appended. */
export const DEFAULT_PROBLEM_TYPE_BASE = 'urn:apiward:problem:'

/** An RFC 9457 problem document as apiward renders it. */
export interface ProblemDocument {
  type: string
  title: string
  status: number
  code: string
  detail: string
  requestId?: string
  errors?: readonly ProblemFieldError[]
}

/** Options of {@link toProblem}. */
export interface ToProblemOptions {
  /** Echoed as `requestId` so a client report can be matched with the logs. */
  requestId?: string
  /**
   * Prefix of the `type` URI, followed by the code. Point it at your own documentation, e.g.
   * `https://api.example.com/problems/`. Default: {@link DEFAULT_PROBLEM_TYPE_BASE}.
   */
  typeBase?: string
}

/** A rendered problem: status, headers (content type included) and the document. */
export interface RenderedProblem {
  status: number
  headers: Record<string, string>
  body: ProblemDocument
  /** The error that was rendered; for unknown errors an `InternalServerError` whose `cause` is the original. */
  error: ApiError
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

/**
 * Maps any thrown value to an {@link ApiError} without leaking internals.
 *
 * An `ApiError` is kept. An error from a framework or an HTTP error library that carries a 4xx
 * `status` or `statusCode` (malformed JSON, body too large...) becomes the generic `ApiError`
 * of that status, with the generic detail of the status: the original message is not trusted
 * to be client-safe. Anything else becomes a 500 whose `cause` keeps the original for the log.
 *
 * @example
 * ```ts
 * const apiError = toApiError(new SyntaxError('Unexpected token'))   // 500, cause kept
 * ```
 */
export function toApiError(err: unknown, overrides?: { code?: string; detail?: string }): ApiError {
  if (ApiError.is(err)) return err
  if (isRecord(err)) {
    const status = typeof err.status === 'number' ? err.status : err.statusCode
    if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500) {
      return new ApiError(status, { ...overrides, cause: err })
    }
  }
  return new InternalServerError({ cause: err })
}

/**
 * Renders any error as an RFC 9457 `application/problem+json` response.
 *
 * @example
 * ```ts
 * const { status, headers, body } = toProblem(err, { requestId })
 * res.writeHead(status, headers).end(JSON.stringify(body))
 * ```
 */
export function toProblem(err: unknown, options: ToProblemOptions = {}): RenderedProblem {
  const error = toApiError(err)
  const body: ProblemDocument = {
    type: (options.typeBase ?? DEFAULT_PROBLEM_TYPE_BASE) + error.code,
    title: error.title,
    status: error.status,
    code: error.code,
    detail: error.detail,
  }
  if (options.requestId !== undefined) body.requestId = options.requestId
  if (error.errors !== undefined && error.errors.length > 0) body.errors = error.errors
  const headers: Record<string, string> = { ...error.headers, 'Content-Type': PROBLEM_CONTENT_TYPE }
  return { status: error.status, headers, body, error }
}

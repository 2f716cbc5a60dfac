import { ApiError } from './api-error.js'

/**
 * The generic codes of the catalogue (docs/errors.md): the defaults of each status and the codes
 * core and the adapters answer for malformed requests, routing and server failures. Feature
 * packages list their own (`AUTH_CODES` in `@apiward/auth`, `RATELIMIT_CODES` in
 * `@apiward/ratelimit`); a test keeps the catalogue in step with these lists.
 *
 * @example
 * ```ts
 * ERROR_CODES.includes(problem.code as ErrorCode)
 * ```
 */
export const ERROR_CODES = [
  'request.invalid',
  'request.malformed',
  'request.malformed_body',
  'request.invalid_body',
  'request.aborted',
  'request.invalid_path',
  'validation.rejected',
  'auth.unauthorized',
  'authz.forbidden',
  'route.not_found',
  'route.method_not_allowed',
  'request.not_acceptable',
  'request.timeout',
  'request.conflict',
  'route.gone',
  'request.length_required',
  'request.precondition_failed',
  'request.body_too_large',
  'request.uri_too_long',
  'request.unsupported_media_type',
  'request.unsupported_charset',
  'request.unsupported_encoding',
  'request.range_not_satisfiable',
  'request.unprocessable',
  'request.precondition_required',
  'ratelimit.exceeded',
  'request.headers_too_large',
  'server.internal',
  'server.not_implemented',
  'server.bad_gateway',
  'server.unavailable',
  'server.gateway_timeout',
] as const

/** A generic code of the catalogue: one of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number]

/**
 * Whether `err` is an {@link ApiError}, and with `code` whether it carries that code; the type
 * narrows to match (the model is jose's `err.code === 'ERR_JWT_EXPIRED'` on `JOSEErrorCode`).
 * Works across duplicated copies of this package, as `ApiError.is` does.
 *
 * @example
 * ```ts
 * import type { AuthErrorCode } from '@apiward/auth'
 * if (isApiError(err, 'auth.invalid_token')) err.code // 'auth.invalid_token'
 * if (isApiError(err)) log(err.status, err.code)
 * ```
 */
export function isApiError<C extends string = string>(
  err: unknown,
  code?: C,
): err is ApiError & { readonly code: C } {
  return ApiError.is(err) && (code === undefined || err.code === code)
}

/**
 * Every code `@apiward/validate` answers a client with (docs/validate.md lists each; a test keeps
 * the docs in step). Narrow an error on one with `isApiError(err, code)`.
 *
 * @example
 * ```ts
 * import { isApiError } from '@apiward/errors'
 * if (isApiError(err, 'validation.rejected')) err.errors // one entry per failed field
 * ```
 */
export const VALIDATE_CODES = [
  'validation.rejected',
  'validation.body_too_complex',
  'validation.forbidden_key',
  'validation.unsafe_number',
  'request.malformed_body',
  'request.body_too_large',
  'request.unsupported_media_type',
  'request.unsupported_charset',
  'request.unsupported_encoding',
  'route.not_found',
  'route.method_not_allowed',
] as const

/** A code `@apiward/validate` answers with: one of {@link VALIDATE_CODES}. */
export type ValidateErrorCode = (typeof VALIDATE_CODES)[number]

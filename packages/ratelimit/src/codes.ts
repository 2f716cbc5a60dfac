/**
 * Every code `@apiward/ratelimit` answers a client with (docs/ratelimit.md lists each; a test
 * keeps the docs in step). Narrow an error on one with `isApiError(err, code)`.
 *
 * @example
 * ```ts
 * import { isApiError } from '@apiward/errors'
 * if (isApiError(err, 'ratelimit.exceeded')) err.headers?.['Retry-After']
 * ```
 */
export const RATELIMIT_CODES = [
  'ratelimit.exceeded',
  'ratelimit.too_many_failures',
  'ratelimit.unavailable',
  'ipfilter.denied',
  'request.invalid_username',
  'request.malformed_body',
  'request.body_too_large',
] as const

/** A code `@apiward/ratelimit` answers with: one of {@link RATELIMIT_CODES}. */
export type RateLimitErrorCode = (typeof RATELIMIT_CODES)[number]

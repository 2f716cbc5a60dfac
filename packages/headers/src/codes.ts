/**
 * Every code `@apiward/headers` answers a client with (docs/headers.md lists each; a test keeps
 * the docs in step). Narrow an error on one with `isApiError(err, code)`.
 *
 * @example
 * ```ts
 * import { isApiError } from '@apiward/errors'
 * if (isApiError(err, 'request.unsupported_version')) err.status // 400
 * ```
 */
export const HEADERS_CODES = ['request.https_required', 'request.unsupported_version'] as const

/** A code `@apiward/headers` answers with: one of {@link HEADERS_CODES}. */
export type HeadersErrorCode = (typeof HEADERS_CODES)[number]

/**
 * Every code `@apiward/authz` answers a client with (docs/authz.md lists each, guard by guard; a
 * test keeps the docs in step). Besides its own `authz.insufficient_scope` and `authz.unavailable`
 * these are generic codes of the catalogue, so a client branches on them the same way whichever
 * package answered. Narrow an error on one with `isApiError(err, code)`.
 *
 * @example
 * ```ts
 * import { isApiError } from '@apiward/errors'
 * if (isApiError(err, 'authz.insufficient_scope')) err.headers?.['WWW-Authenticate']
 * ```
 */
export const AUTHZ_CODES = [
  'auth.unauthorized',
  'authz.forbidden',
  'authz.insufficient_scope',
  'authz.unavailable',
  'route.not_found',
  'validation.rejected',
  'server.internal',
] as const

/** A code `@apiward/authz` answers with: one of {@link AUTHZ_CODES}. */
export type AuthzErrorCode = (typeof AUTHZ_CODES)[number]

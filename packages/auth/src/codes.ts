/**
 * Every code `@apiward/auth` answers a client with (docs/auth.md lists each, guard by guard; a
 * test keeps the docs in step). Narrow an error on one with `isApiError(err, code)`.
 *
 * @example
 * ```ts
 * import { isApiError } from '@apiward/errors'
 * if (isApiError(err, 'auth.invalid_token')) metrics.invalidTokens.add(1)
 * ```
 */
export const AUTH_CODES = [
  'auth.missing_token',
  'auth.missing_credentials',
  'auth.invalid_token',
  'auth.invalid_api_key',
  'auth.invalid_request',
  'auth.unavailable',
  'auth.revocation_unavailable',
  'auth.missing_certificate',
  'auth.invalid_certificate',
  'auth.invalid_dpop_proof',
  'auth.use_dpop_nonce',
  'auth.dpop_replay_unavailable',
] as const

/** A code `@apiward/auth` answers with: one of {@link AUTH_CODES}. */
export type AuthErrorCode = (typeof AUTH_CODES)[number]

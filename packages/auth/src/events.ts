import type { ApiKeyFailureReason } from './api-key.js'
import type { CertificateBindingFailureReason } from './binding.js'
import type { DpopFailureReason } from './dpop-proof.js'
import type { TokenFailureReason } from './errors.js'
import type { CertificateFailureReason } from './mtls.js'

/** The kind of credential an authentication event is about. */
type Credential = 'jwt' | 'api_key' | 'introspection' | 'mtls'

/**
 * The security events of `@apiward/auth`, by type, with their fields. They join core's
 * `SecurityEventMap`, so `ctx.emit()` checks them and listeners narrow on `event.type`.
 */
export interface AuthEventMap {
  /** A credential was accepted; `ctx.principal` is set. Once per verified JWT: cache hits do not repeat it. */
  'auth.success': {
    credential: Credential
    /** The API key's id (`apiKey()`), never the secret. */
    keyId?: string
  }
  /** A credential was missing or refused; `code` is the answer's code. */
  'auth.failure': {
    credential?: Credential
    /**
     * Why a credential was refused (`TokenFailureReason`, `ApiKeyFailureReason`,
     * `CertificateFailureReason`, `DpopFailureReason`, `CertificateBindingFailureReason`), for the
     * operator only.
     */
    reason?:
      | TokenFailureReason
      | ApiKeyFailureReason
      | CertificateFailureReason
      | DpopFailureReason
      | CertificateBindingFailureReason
    keyId?: string
    keyPrefix?: string
  }
  /** A callback, a store or an endpoint failed; the client got the documented answer. */
  'auth.error': {
    credential?: Credential
    /** The callback that failed, e.g. `validate`, `isRevoked`, `session.hasCredential`. */
    callback?: string
    /** Why the introspection endpoint could not answer (`IntrospectionErrorReason`). */
    reason?: string
    keyId?: string
    keyPrefix?: string
    detail: string
    error?: unknown
  }
  /** The remote JWK Set was fetched. */
  'jwks.refreshed': { keys: number; durationMs: number }
  /** A JWK Set fetch failed; the keys in use (`servingCachedKeys` of them) stay. */
  'jwks.refresh_failed': { reason: string; durationMs: number; servingCachedKeys: number }
  /** An issuer's discovery metadata was fetched. */
  'discovery.refreshed': { issuer: string; url: string; durationMs: number }
  /** A discovery fetch failed; the metadata in use, if any, stays. */
  'discovery.refresh_failed': {
    issuer: string
    reason: string
    durationMs: number
    servingCachedMetadata: boolean
  }
  /** Writing an introspection answer to its cache failed; the request was served. */
  'introspection.cache_failed': { operation: 'set'; detail: string }
}

declare module '@apiward/core' {
  interface SecurityEventMap extends AuthEventMap {}
}

/** A security event type of `@apiward/auth`. */
export type AuthEventType = keyof AuthEventMap

/**
 * Every security event type `@apiward/auth` emits, for subscribers that route or count them
 * (a type test keeps it equal to {@link AuthEventMap}).
 *
 * @example
 * ```ts
 * securityEvents.on((event) => {
 *   if ((AUTH_EVENTS as readonly string[]).includes(event.type)) authLog.info(event)
 * })
 * ```
 */
export const AUTH_EVENTS = [
  'auth.success',
  'auth.failure',
  'auth.error',
  'jwks.refreshed',
  'jwks.refresh_failed',
  'discovery.refreshed',
  'discovery.refresh_failed',
  'introspection.cache_failed',
] as const satisfies readonly AuthEventType[]

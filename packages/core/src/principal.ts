/** How the caller proved who it is. */
export type CredentialKind = 'jwt' | 'api_key' | 'introspection' | 'mtls' | (string & {})

/**
 * Claims of a principal. Augment it to type your own claims everywhere `auth` is read:
 *
 * @example
 * ```ts
 * declare module '@apiward/core' {
 *   interface PrincipalClaims { tenant_id?: string }
 * }
 * ```
 */
export interface PrincipalClaims {
  [claim: string]: unknown
}

/** Who is calling, as established by an authentication guard. */
export interface Principal {
  /** Stable identifier: a JWT `sub`, an API key's owner, a certificate subject. */
  id: string
  /** A person acting through a client (`user`), or a machine client (`service`). */
  kind: 'user' | 'service'
  /** Granted OAuth scopes. */
  scopes: readonly string[]
  /** Granted roles. */
  roles: readonly string[]
  /** Every claim or attribute of the credential, for ABAC rules and handlers. */
  claims: Readonly<PrincipalClaims>
  /** Which credential established the principal. */
  credential: CredentialKind
}

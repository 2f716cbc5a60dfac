import type { Guard, SecurityRequest } from '@apiward/core'

/**
 * An authentication guard that can tell, from the request alone, whether its credential was
 * sent. `anyOf()` uses it: the first guard whose credential is present decides, so a present
 * but invalid credential is refused instead of falling through to the next one.
 */
export interface CredentialGuard extends Guard {
  /** `true` when the request carries this guard's kind of credential (valid or not). */
  readonly hasCredential: (req: SecurityRequest) => boolean
  /**
   * The `WWW-Authenticate` challenge of this credential (`Bearer realm="api"`), when it has one.
   * `anyOf()` sends the challenges of all its members when no credential was sent, so the client
   * learns every way it may authenticate.
   */
  readonly challenge?: string
}

/** Whether a guard is a {@link CredentialGuard}. */
export function isCredentialGuard(guard: Guard): guard is CredentialGuard {
  return typeof (guard as Partial<CredentialGuard>).hasCredential === 'function'
}

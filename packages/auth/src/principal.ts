import type { CredentialKind, Principal } from '@apiward/core'
import type { JWTPayload } from 'jose'

/** The value at a claim path: the claim named `path` itself, else dots descend into objects. */
export function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path]
  let value: unknown = payload
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((s) => s.length > 0)
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string')
  return []
}

/** How claims become a principal. */
export interface PrincipalMapping {
  /** Claim path of the roles (dots descend into objects, e.g. `realm_access.roles`). */
  rolesClaim: string
  /** The credential the claims came with. Default `jwt`. */
  credential?: CredentialKind
}

/**
 * The principal of a verified payload: id from `sub`, scopes from `scope` (space-separated) or
 * `scp` (array), roles from the configured claim, kind `service` when the subject is the client
 * itself (RFC 9068 section 2.2: `sub` equals `client_id`), else `user`.
 */
export function principalFromPayload(payload: JWTPayload, mapping: PrincipalMapping): Principal {
  const clientId = payload.client_id ?? payload.azp
  return {
    id: payload.sub as string,
    kind: clientId !== undefined && clientId === payload.sub ? 'service' : 'user',
    scopes: strings(payload.scope ?? payload.scp),
    roles: strings(claimAt(payload, mapping.rolesClaim)),
    claims: payload,
    credential: mapping.credential ?? 'jwt',
  }
}

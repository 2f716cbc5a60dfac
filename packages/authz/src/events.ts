/** The guard of `@apiward/authz` an event comes from. */
export type AuthzGuardName = 'scopes' | 'roles' | 'claims' | 'casbin' | 'owner' | 'fields'

/** Why a request was refused. Sent to security events, never to the client. */
export type AuthzDenialReason =
  /** No principal: no authentication guard ran before this one. */
  | 'unauthenticated'
  /** `scopes()`: the token lacks a required scope. */
  | 'insufficient_scope'
  /** `roles()`: the principal lacks a required role. */
  | 'missing_role'
  /** `claims()`: a claim did not match, or a predicate refused or threw. */
  | 'claim_mismatch'
  /** `casbin()`: the policy does not allow the request, or a rule denies it. */
  | 'policy'
  /** `casbin()`: the policy never loaded, so nothing can be allowed. */
  | 'policy_unavailable'
  /** `owner()`: the resource does not exist. */
  | 'not_found'
  /** `owner()`: the resource exists and the principal may not reach it. */
  | 'not_owner'
  /** `fields()`: the body writes properties the principal may not write. */
  | 'forbidden_property'

/** What started a policy load of `casbin()`. */
export type PolicyLoadTrigger = 'startup' | 'reload' | 'watcher'

/**
 * The security events of `@apiward/authz`, by type, with their fields. They join core's
 * `SecurityEventMap`, so `ctx.emit()` checks them and listeners narrow on `event.type`. Every
 * event of `casbin()` carries the `policyVersion` that decided (or failed to load).
 */
export interface AuthzEventMap {
  /** A request was refused; `code` is the answer's code. */
  'authz.denied': {
    guard: AuthzGuardName
    reason: AuthzDenialReason
    /**
     * `scopes()` / `roles()`: what the principal lacks. `claims()`: the claim path that failed.
     * `fields()`: the JSON pointers refused.
     */
    missing?: readonly string[]
    /** `casbin()`: the subject, object, action and domain that were decided. */
    subject?: string
    object?: string
    action?: string
    domain?: string
    /** `casbin()`: the version of the policy that decided (1 for the policy loaded at startup). */
    policyVersion?: number
  }
  /** A callback or the policy engine failed; the request was refused, never allowed. */
  'authz.error': {
    guard: AuthzGuardName
    /** The callback that failed: `load`, `allow`, `ownerOf`, `claims`, `enforce`, `subject`... */
    callback: string
    detail: string
    /** The original error, for the log only. */
    error?: unknown
    policyVersion?: number
  }
  /** `casbin()` swapped in a freshly loaded policy: every decision from now on uses it. */
  'authz.reloaded': {
    policyVersion: number
    trigger: PolicyLoadTrigger
    durationMs: number
    /** How many policy and grouping rules the new policy holds. */
    rules: number
  }
  /** A policy load failed; the policy in use (`policyVersion`, 0 when none) stays. */
  'authz.reload_failed': {
    policyVersion: number
    trigger: PolicyLoadTrigger
    durationMs: number
    detail: string
    error?: unknown
  }
}

declare module '@apiward/core' {
  interface SecurityEventMap extends AuthzEventMap {}
}

/** A security event type of `@apiward/authz`. */
export type AuthzEventType = keyof AuthzEventMap

/**
 * Every security event type `@apiward/authz` emits, for subscribers that route or count them
 * (a type test keeps it equal to {@link AuthzEventMap}).
 *
 * @example
 * ```ts
 * securityEvents.on((event) => {
 *   if (event.type === 'authz.denied') metrics.denied.add(1, { guard: event.guard, reason: event.reason })
 * })
 * ```
 */
export const AUTHZ_EVENTS = [
  'authz.denied',
  'authz.error',
  'authz.reloaded',
  'authz.reload_failed',
] as const satisfies readonly AuthzEventType[]

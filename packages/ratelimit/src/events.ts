import type { OnStoreFailure } from './outage.js'
import type { StoreFailureReason } from './store.js'

/**
 * The security events of `@apiward/ratelimit`, by type, with their fields. They join core's
 * `SecurityEventMap`, so `ctx.emit()` checks them and listeners narrow on `event.type`.
 */
export interface RateLimitEventMap {
  /** `rateLimit()` refused a request (429 `ratelimit.exceeded`). */
  'ratelimit.exceeded': {
    /** The guard's `name`. */
    limiter: string
    /** Seconds until the tightest window has room, as in `Retry-After`. */
    retryAfter: number
  }
  /** A store was unavailable: the insurance limiter decided (`fail-open`) or the request got a 503 (`fail-closed`). */
  'ratelimit.degraded': {
    guard: string
    /** The store's `onStoreFailure`. */
    policy: OnStoreFailure | undefined
    reason: StoreFailureReason
    detail: string
  }
  /** A callback or a background store update failed; the client got the documented answer. */
  'ratelimit.error': {
    guard: string
    /** The option that failed, e.g. `key`, `cost(ctx)`, `verdict`; absent for a background store update. */
    callback?: string
    detail: string
    error?: unknown
  }
  /** `bruteForce()` refused an attempt: too many failures (429) or a username that is not a string (400). */
  'bruteforce.denied': {
    limiter?: string
    scope?: 'pair' | 'username'
    retryAfter?: number
  }
  /** A (username, IP) pair or a username reached its limit and is blocked for `blockDuration` seconds. */
  'bruteforce.blocked': { limiter: string; scope: 'pair' | 'username'; blockDuration: number }
  /** A login attempt failed; `attempts` is how many points it consumed. */
  'bruteforce.failure': { limiter: string; attempts: number }
  /** `ipFilter()` refused the client's address (403 `ipfilter.denied`). */
  'ipfilter.denied': Record<never, never>
}

declare module '@apiward/core' {
  interface SecurityEventMap extends RateLimitEventMap {}
}

/** A security event type of `@apiward/ratelimit`. */
export type RateLimitEventType = keyof RateLimitEventMap

/**
 * Every security event type `@apiward/ratelimit` emits, for subscribers that route or count
 * them (a type test keeps it equal to {@link RateLimitEventMap}).
 *
 * @example
 * ```ts
 * securityEvents.on((event) => {
 *   if (event.type === 'ratelimit.exceeded') metrics.limited.add(1, { limiter: event.limiter })
 * })
 * ```
 */
export const RATELIMIT_EVENTS = [
  'ratelimit.exceeded',
  'ratelimit.degraded',
  'ratelimit.error',
  'bruteforce.denied',
  'bruteforce.blocked',
  'bruteforce.failure',
  'ipfilter.denied',
] as const satisfies readonly RateLimitEventType[]

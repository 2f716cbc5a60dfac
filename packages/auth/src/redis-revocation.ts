import { securityEvents } from '@apiward/core'
import { ServiceUnavailable } from '@apiward/errors'
import { isThenable } from './callback.js'
import { redisCommands, redisTimeout, withTimeout } from './redis-client.js'
import type { RevocationStore } from './revocation.js'

/** The subset of an ioredis or node-redis (v4+) client the revocation store uses. */
export interface RevocationRedisClient {
  exists(key: string): Promise<number>
}

/** Options of {@link redisRevocationStore}. */
export interface RedisRevocationOptions {
  /** A connected ioredis (`new Redis()`) or node-redis (`createClient()`) client. */
  client: RevocationRedisClient
  /** Key prefix. Default `apiward:revoked:`. */
  prefix?: string
  /** Milliseconds a Redis call may take. Default `100`, so requests never hang on Redis. */
  timeoutMs?: number
  /**
   * What a request gets when Redis fails or times out. Required, because both answers cost
   * something: `'fail-closed'` refuses with 503 (`auth.revocation_unavailable`, `Retry-After`),
   * so a revoked token never passes; `'fail-open'` treats the token as not revoked, so an
   * outage does not lock everyone out.
   */
  onStoreFailure: 'fail-closed' | 'fail-open'
  /**
   * Called on every failed call, with the error (emit a metric, log it). It only observes: if it
   * throws or rejects, the outage policy still applies and an `auth.error` event (on the
   * process-wide `securityEvents`) reports it. Default: none.
   */
  onError?: (err: unknown) => void | PromiseLike<void>
}

/**
 * A revocation list shared by every instance through Redis: one `EXISTS` per request, bounded
 * by a timeout, with an explicit outage policy. Revoked IDs expire with their tokens.
 *
 * @example
 * ```ts
 * const revocation = redisRevocationStore({ client: redis, onStoreFailure: 'fail-closed' })
 * app.use(guard(jwt({ jwksUri, issuer, audience, revocation })))
 * await revocation.revoke(payload.jti, payload.exp) // on logout
 * ```
 */
export function redisRevocationStore(options: RedisRevocationOptions): RevocationStore {
  const redis = redisCommands(options.client, 'redisRevocationStore()', ['exists'])
  if (options.onStoreFailure !== 'fail-closed' && options.onStoreFailure !== 'fail-open') {
    throw new TypeError(
      "redisRevocationStore(): onStoreFailure is required: 'fail-closed' (503 while Redis is down, revoked tokens never pass) or 'fail-open' (tokens pass while Redis is down).",
    )
  }
  const prefix = options.prefix ?? 'apiward:revoked:'
  const timeoutMs = redisTimeout(options.timeoutMs, 100, 'redisRevocationStore()')
  const failClosed = options.onStoreFailure === 'fail-closed'
  const { onError } = options
  const onErrorFailed = (err: unknown) => {
    securityEvents.report('auth.error', {
      severity: 'error',
      code: 'auth.revocation_unavailable',
      callback: 'redisRevocationStore.onError',
      detail: err instanceof Error ? err.message : String(err),
      error: err,
    })
  }
  const failed = (err: unknown): boolean => {
    if (onError !== undefined) {
      try {
        const reported = onError(err)
        if (isThenable(reported)) Promise.resolve(reported).catch(onErrorFailed)
      } catch (thrown) {
        onErrorFailed(thrown)
      }
    }
    if (failClosed) {
      throw new ServiceUnavailable({
        code: 'auth.revocation_unavailable',
        detail: 'Token revocation cannot be checked right now. Retry later.',
        retryAfter: 1,
      })
    }
    return false
  }
  return {
    isRevoked(jti) {
      return withTimeout(redis.exists(prefix + jti), timeoutMs).then((n) => n > 0, failed)
    },
    async revoke(jti, expiresAt) {
      const ttlMs = Math.max(1000, Math.ceil(expiresAt * 1000 - Date.now()))
      await withTimeout(redis.set(prefix + jti, '1', ttlMs), Math.max(timeoutMs, 1000))
    },
  }
}

import { securityEvents } from '@apiward/core'
import { ServiceUnavailable } from '@apiward/errors'
import { isThenable } from './callback.js'
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

interface IoRedisLike {
  set(key: string, value: string, mode: 'EX', seconds: number): Promise<unknown>
}
interface NodeRedisLike {
  set(key: string, value: string, options: { EX: number }): Promise<unknown>
}

function isIoRedis(client: object): boolean {
  const c = client as { defineCommand?: unknown; status?: unknown }
  return typeof c.defineCommand === 'function' && typeof c.status === 'string'
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
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
  const { client } = options
  if (client === null || typeof client !== 'object' || typeof client.exists !== 'function') {
    throw new TypeError('redisRevocationStore(): client must be a connected ioredis or node-redis client.')
  }
  if (options.onStoreFailure !== 'fail-closed' && options.onStoreFailure !== 'fail-open') {
    throw new TypeError(
      "redisRevocationStore(): onStoreFailure is required: 'fail-closed' (503 while Redis is down, revoked tokens never pass) or 'fail-open' (tokens pass while Redis is down).",
    )
  }
  const prefix = options.prefix ?? 'apiward:revoked:'
  const timeoutMs = options.timeoutMs ?? 100
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 10_000) {
    throw new TypeError('redisRevocationStore(): timeoutMs must be an integer from 1 to 10000.')
  }
  const failClosed = options.onStoreFailure === 'fail-closed'
  const ioredis = isIoRedis(client)
  // node-redis rejects its pending commands on an error event it has no listener for by
  // crashing the process: a listener keeps an outage an outage.
  const emitter = client as unknown as { on?: (event: string, fn: (err: unknown) => void) => void }
  if (typeof emitter.on === 'function') emitter.on('error', () => {})
  const { onError } = options
  const onErrorFailed = (err: unknown) => {
    securityEvents.emit({
      type: 'auth.error',
      time: Date.now(),
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
      let call: Promise<number>
      try {
        call = client.exists(prefix + jti)
      } catch (err) {
        return Promise.resolve().then(() => failed(err))
      }
      return withTimeout(call, timeoutMs).then((n) => n > 0, failed)
    },
    async revoke(jti, expiresAt) {
      const ttl = Math.max(1, Math.ceil(expiresAt - Date.now() / 1000))
      const set = ioredis
        ? (client as unknown as IoRedisLike).set(prefix + jti, '1', 'EX', ttl)
        : (client as unknown as NodeRedisLike).set(prefix + jti, '1', { EX: ttl })
      await withTimeout(set, Math.max(timeoutMs, 1000))
    },
  }
}

import { checkOptions, type KnownOptions, warnOnce } from '@apiward/core'
import { BoundedMap } from './bounded-map.js'

/**
 * A denylist of token IDs (`jti`). `jwt({ revocation })` asks it on every request, cached
 * tokens included, so a revoked token stops working at once.
 */
export interface RevocationStore {
  /** Whether the token ID is revoked. May be asynchronous (a network store). */
  isRevoked(jti: string): boolean | Promise<boolean>
  /** Revokes a token ID until `expiresAt` (seconds since the epoch, the token's `exp`). */
  revoke(jti: string, expiresAt: number): void | Promise<void>
}

/** Options of {@link memoryRevocationStore}. */
export interface MemoryRevocationOptions {
  /**
   * Most token IDs kept. Default `100000`. At the bound, a revocation makes room by dropping an
   * ID whose token has expired or, when none is met first, the oldest one not presented since
   * (the CLOCK rule of the shared bounded map): a revoked token that is still being tried stays
   * revoked longest. A dropped ID is a token that works again, so the store warns once when it
   * is full: size it for the revocations of one token lifetime, or use `redisRevocationStore()`.
   */
  max?: number
}

const REVOCATION_OPTIONS: KnownOptions<MemoryRevocationOptions> = { max: true }

/**
 * A revocation list in this process's memory: synchronous, so cached tokens stay on the
 * synchronous path. Each ID is kept until its token's `exp`, then forgotten. `revoke()` costs
 * the same at the bound as below it (no scan of the list). Several instances need
 * `redisRevocationStore()`.
 *
 * @example
 * ```ts
 * const revocation = memoryRevocationStore({ max: 50_000 })
 * app.get('/notes', guard(jwt({ jwksUri, issuer, audience, revocation })), list)
 * revocation.revoke(payload.jti, payload.exp) // on logout
 * ```
 */
export function memoryRevocationStore(options: MemoryRevocationOptions = {}): RevocationStore {
  checkOptions<MemoryRevocationOptions>(
    options,
    'memoryRevocationStore()',
    REVOCATION_OPTIONS,
    {},
    '{ max: 100000 }',
  )
  const max = options.max ?? 100_000
  if (!Number.isInteger(max) || max < 1)
    throw new TypeError('memoryRevocationStore(): max must be a positive integer.')
  const revoked = new BoundedMap<string, true>(max)
  return {
    isRevoked(jti) {
      return revoked.get(jti) === true
    },
    revoke(jti, expiresAt) {
      if (typeof jti !== 'string' || typeof expiresAt !== 'number' || Number.isNaN(expiresAt)) {
        throw new TypeError(
          'memoryRevocationStore(): revoke(jti, expiresAt) takes a string and seconds since the epoch.',
        )
      }
      if (revoked.size >= max && !revoked.has(jti)) {
        warnOnce(
          'APIWARD_REVOCATION_STORE_FULL',
          `memoryRevocationStore(): the store holds its max of ${max} token IDs; each new revocation now drops an expired or older one, and an older one's token works again. Raise max, shorten token lifetimes, or use redisRevocationStore().`,
          'auth.md#revocation',
        )
      }
      revoked.set(jti, true, expiresAt * 1000)
    },
  }
}

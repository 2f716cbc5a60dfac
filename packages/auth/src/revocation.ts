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
  /** Most token IDs kept; the ones closest to expiry go first. Default `100000`. */
  max?: number
}

/**
 * A revocation list in this process's memory: synchronous, so cached tokens stay on the
 * synchronous path. Several instances need `redisRevocationStore()`.
 */
export function memoryRevocationStore(options: MemoryRevocationOptions = {}): RevocationStore {
  const max = options.max ?? 100_000
  if (!Number.isInteger(max) || max < 1)
    throw new TypeError('memoryRevocationStore(): max must be a positive integer.')
  const revoked = new Map<string, number>()
  const sweep = (now: number) => {
    for (const [jti, until] of revoked) if (until <= now) revoked.delete(jti)
  }
  return {
    isRevoked(jti) {
      const until = revoked.get(jti)
      if (until === undefined) return false
      if (until > Date.now() / 1000) return true
      revoked.delete(jti)
      return false
    },
    revoke(jti, expiresAt) {
      if (revoked.size >= max) sweep(Date.now() / 1000)
      if (revoked.size >= max) {
        let soonest: string | undefined
        let at = Number.POSITIVE_INFINITY
        for (const [id, until] of revoked) if (until < at) [soonest, at] = [id, until]
        if (soonest !== undefined) revoked.delete(soonest)
      }
      revoked.set(jti, expiresAt)
    },
  }
}

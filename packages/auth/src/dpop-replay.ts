/**
 * Where DPoP proof IDs are remembered, so each proof is accepted once (RFC 9449 section 11.1).
 * `use` records `id` for `ttlMs` milliseconds and answers whether it was new: `true` the first
 * time, `false` for a replay. It may answer synchronously (memory) or with a promise (Redis); a
 * throw or rejection means the store could not tell, and the request is refused with 503.
 */
export interface DpopReplayStore {
  use(id: string, ttlMs: number): boolean | Promise<boolean>
}

/** Options of {@link memoryDpopReplayStore}. */
export interface MemoryDpopReplayOptions {
  /**
   * The most proof IDs kept. Default `100000`. When it is full, a new proof is refused (its
   * request gets 503) rather than an unexpired ID forgotten, which would let that proof replay.
   */
  max?: number
}

/**
 * A replay store in this process's memory: right for one instance. Several instances need a
 * shared store ({@link redisDpopReplayStore}), or a proof used on one is accepted again on another.
 *
 * @example
 * ```ts
 * jwt({ jwksUri, issuer, audience, dpop: dpop({ origin: 'https://api.example.com', replay: memoryDpopReplayStore() }) })
 * ```
 */
export function memoryDpopReplayStore(options: MemoryDpopReplayOptions = {}): DpopReplayStore {
  const max = options.max ?? 100_000
  if (!Number.isInteger(max) || max < 1) {
    throw new TypeError('memoryDpopReplayStore(): max is a positive integer (the most proof IDs kept).')
  }
  // Insertion order is expiry order as long as every ID gets the same TTL; a shorter one is
  // swept a little late, never early.
  const seen = new Map<string, number>()
  const sweep = (now: number) => {
    for (const [id, expires] of seen) {
      if (expires > now) break
      seen.delete(id)
    }
  }
  return {
    use(id, ttlMs) {
      const now = Date.now()
      const expires = seen.get(id)
      if (expires !== undefined && expires > now) return false
      sweep(now)
      if (seen.size >= max) throw new Error(`the DPoP replay store holds ${max} unexpired proof IDs`)
      seen.delete(id)
      seen.set(id, now + ttlMs)
      return true
    },
  }
}

/** The subset of an ioredis or node-redis (v4+) client the replay store uses. */
export interface DpopReplayRedisClient {
  set(key: string, value: string, ...options: any[]): Promise<unknown>
}

/** Options of {@link redisDpopReplayStore}. */
export interface RedisDpopReplayOptions {
  /** A connected ioredis (`new Redis()`) or node-redis (`createClient()`) client. */
  client: DpopReplayRedisClient
  /** Key prefix. Default `apiward:dpop:`. */
  prefix?: string
  /** Milliseconds a Redis call may take. Default `100`, so requests never hang on Redis. */
  timeoutMs?: number
}

function isIoRedis(client: object): boolean {
  const c = client as { defineCommand?: unknown; status?: unknown }
  return typeof c.defineCommand === 'function' && typeof c.status === 'string'
}

/**
 * A replay store shared by every instance through Redis: one `SET id 1 NX PX ttl` per proof,
 * atomic, so two instances that get the same proof at the same moment accept it once. When
 * Redis fails or does not answer within `timeoutMs`, `use` rejects and the request gets 503
 * `auth.dpop_replay_unavailable` with `Retry-After`: an unchecked proof is never accepted
 * (the guard's `dangerouslyAcceptProofsWhenReplayStoreFails` is the only way to change that).
 *
 * @example
 * ```ts
 * const replay = redisDpopReplayStore({ client: new Redis(process.env.REDIS_URL) })
 * jwt({ jwksUri, issuer, audience, dpop: dpop({ origin: 'https://api.example.com', replay }) })
 * ```
 */
export function redisDpopReplayStore(options: RedisDpopReplayOptions): DpopReplayStore {
  const client = options?.client as
    | (DpopReplayRedisClient & { on?: (e: string, l: () => void) => unknown })
    | null
  if (client === null || typeof client !== 'object' || typeof client.set !== 'function') {
    throw new TypeError('redisDpopReplayStore(): client must be a connected ioredis or node-redis client.')
  }
  const prefix = options.prefix ?? 'apiward:dpop:'
  if (typeof prefix !== 'string') throw new TypeError('redisDpopReplayStore(): prefix is a string.')
  const timeoutMs = options.timeoutMs ?? 100
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 10_000) {
    throw new TypeError('redisDpopReplayStore(): timeoutMs must be an integer from 1 to 10000.')
  }
  // node-redis ends the process on an `error` event nobody listens to; an outage must stay an outage.
  if (typeof client.on === 'function') client.on('error', () => {})
  const ioredis = isIoRedis(client)
  const setNx = (key: string, ttlMs: number): Promise<unknown> => {
    try {
      return Promise.resolve(
        ioredis
          ? client.set(key, '1', 'PX', Math.ceil(ttlMs), 'NX')
          : client.set(key, '1', { PX: Math.ceil(ttlMs), NX: true }),
      )
    } catch (err) {
      return Promise.reject(err)
    }
  }
  return {
    use(id, ttlMs) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs)
      })
      return Promise.race([setNx(prefix + id, ttlMs), timeout])
        .finally(() => clearTimeout(timer))
        .then((answer) => answer === 'OK')
    },
  }
}

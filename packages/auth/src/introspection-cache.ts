import { checkOptions, type KnownOptions } from '@apiward/core'
import { type RedisCommands, redisCommands, redisTimeout, withTimeout } from './redis-client.js'
import { TokenCache } from './token-cache.js'

/** One introspection answer as a cache keeps it, under a hash of the token (never the token). */
export interface CachedIntrospection {
  /** The members of an active answer; absent for an inactive token. */
  readonly claims?: Readonly<Record<string, unknown>>
  /** Milliseconds since the epoch until which the answer is fresh (never past the token's `exp`). */
  readonly freshUntil: number
}

/**
 * Where `introspection()` keeps answers: `memoryIntrospectionCache()` (the default, one
 * process) or `redisIntrospectionCache()` (shared by every instance), or your own. `get` and
 * `set` may be synchronous or return promises; a failing store counts as a miss, so the token is
 * introspected instead. An entry is kept for `ttlMs` and no longer.
 */
export interface IntrospectionCacheStore {
  get(key: string): CachedIntrospection | undefined | Promise<CachedIntrospection | undefined>
  set(key: string, entry: CachedIntrospection, ttlMs: number): void | Promise<void>
}

/** Options of {@link memoryIntrospectionCache}. */
export interface MemoryIntrospectionCacheOptions {
  /** Most answers kept; the least recently read go first. Default `10000`. */
  max?: number
}

interface Held {
  readonly entry: CachedIntrospection
  readonly expiresAt: number
}

/**
 * Introspection answers in this process's memory: bounded, synchronous, so a cached token is
 * decided without a promise. The entry handed to `set` is the one `get` returns.
 */
export function memoryIntrospectionCache(
  options: MemoryIntrospectionCacheOptions = {},
): IntrospectionCacheStore {
  checkOptions<MemoryIntrospectionCacheOptions>(options, 'memoryIntrospectionCache()', { max: true })
  const max = options.max ?? 10_000
  if (!Number.isInteger(max) || max < 1) {
    throw new TypeError('memoryIntrospectionCache(): max is a positive integer (default 10000).')
  }
  const held = new TokenCache<Held>(max)
  return {
    get(key) {
      const found = held.get(key)
      if (found === undefined) return undefined
      if (found.expiresAt > Date.now()) return found.entry
      held.delete(key)
      return undefined
    },
    set(key, entry, ttlMs) {
      held.set(key, { entry, expiresAt: Date.now() + ttlMs })
    },
  }
}

/** The subset of an ioredis or node-redis (v4+) client the introspection cache uses. */
export interface IntrospectionRedisClient {
  get(key: string): Promise<string | null>
  set(key: string, value: string, ...options: never[]): Promise<unknown>
}

/** Options of {@link redisIntrospectionCache}. */
export interface RedisIntrospectionCacheOptions {
  /** A connected ioredis (`new Redis()`) or node-redis (`createClient()`) client. */
  client: IntrospectionRedisClient
  /** Key prefix. Default `apiward:introspection:`. */
  prefix?: string
  /**
   * Milliseconds a Redis call may take. Default `100`: past it the answer counts as a miss and
   * the token is introspected, so requests never hang on Redis.
   */
  timeoutMs?: number
}

const REDIS_OPTIONS: KnownOptions<RedisIntrospectionCacheOptions> = {
  client: true,
  prefix: true,
  timeoutMs: true,
}

function entryOf(text: string | null): CachedIntrospection | undefined {
  if (text === null) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  const entry = value as { claims?: unknown; freshUntil?: unknown } | null
  if (entry === null || typeof entry !== 'object' || typeof entry.freshUntil !== 'number') return undefined
  const { claims } = entry
  if (claims !== undefined && (claims === null || typeof claims !== 'object' || Array.isArray(claims)))
    return undefined
  return entry as CachedIntrospection
}

/**
 * Introspection answers shared by every instance through Redis: one `GET` per request, one
 * `SET ... PX` per introspection, each bounded by `timeoutMs`. Keys are a hash of the token, of
 * the issuer and of the client, so the store never holds a token. Whoever can write to this
 * Redis can admit any token: keep it as private as the authorization server's credentials.
 *
 * @example
 * ```ts
 * const cache = { store: redisIntrospectionCache({ client: new Redis(process.env.REDIS_URL) }) }
 * app.use(guard(introspection({ issuer, clientId, clientAuthentication, audience, cache })))
 * ```
 */
export function redisIntrospectionCache(options: RedisIntrospectionCacheOptions): IntrospectionCacheStore {
  checkOptions<RedisIntrospectionCacheOptions>(options, 'redisIntrospectionCache()', REDIS_OPTIONS)
  const redis: RedisCommands = redisCommands(options.client, 'redisIntrospectionCache()', ['get', 'set'])
  const prefix = options.prefix ?? 'apiward:introspection:'
  if (typeof prefix !== 'string') throw new TypeError('redisIntrospectionCache(): prefix is a string.')
  const timeoutMs = redisTimeout(options.timeoutMs, 100, 'redisIntrospectionCache()')
  return {
    get: (key) => withTimeout(redis.get(prefix + key), timeoutMs).then(entryOf),
    set: async (key, entry, ttlMs) => {
      const text = JSON.stringify({ claims: entry.claims, freshUntil: entry.freshUntil })
      await withTimeout(redis.set(prefix + key, text, ttlMs), timeoutMs)
    },
  }
}

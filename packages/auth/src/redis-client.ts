/** The commands the Redis-backed stores send, over an ioredis or a node-redis (v4+) client. */
export interface RedisCommands {
  exists(key: string): Promise<number>
  get(key: string): Promise<string | null>
  /** `SET key value PX ttlMs`: the entry expires after `ttlMs` milliseconds. */
  set(key: string, value: string, ttlMs: number): Promise<unknown>
}

interface AnyRedis {
  exists(key: string): Promise<number>
  get(key: string): Promise<string | null>
  set(key: string, value: string, ...options: unknown[]): Promise<unknown>
  on?(event: string, listener: (err: unknown) => void): unknown
}

/** ioredis clients have `defineCommand` and a string `status`; node-redis clients have neither. */
function isIoRedis(client: object): boolean {
  const c = client as { defineCommand?: unknown; status?: unknown }
  return typeof c.defineCommand === 'function' && typeof c.status === 'string'
}

/** A command's promise; a client that throws instead of rejecting (closed, say) rejects too. */
function call<T>(send: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(send())
  } catch (err) {
    return Promise.reject(err)
  }
}

/**
 * The commands of a connected ioredis (`new Redis()`) or node-redis (`createClient()`) client,
 * whichever it is. An `error` listener is added: node-redis ends the process on an error event
 * nobody listens to, and an outage must stay an outage.
 */
export function redisCommands(client: unknown, where: string, needs: readonly string[]): RedisCommands {
  const c = client as Partial<AnyRedis> | null
  if (c === null || typeof c !== 'object' || needs.some((n) => typeof (c as never)[n] !== 'function')) {
    throw new TypeError(`${where}: client must be a connected ioredis or node-redis client.`)
  }
  const redis = c as AnyRedis
  if (typeof redis.on === 'function') redis.on('error', () => {})
  const ioredis = isIoRedis(redis)
  return {
    exists: (key) => call(() => redis.exists(key)),
    get: (key) => call(() => redis.get(key)),
    set: (key, value, ttlMs) =>
      call(() =>
        ioredis
          ? redis.set(key, value, 'PX', Math.ceil(ttlMs))
          : redis.set(key, value, { PX: Math.ceil(ttlMs) }),
      ),
  }
}

/** `promise`, or a rejection once `ms` milliseconds passed without an answer. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Checks a Redis call timeout option: an integer from 1 to 10000 milliseconds. */
export function redisTimeout(value: number | undefined, fallback: number, where: string): number {
  const timeoutMs = value ?? fallback
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 10_000) {
    throw new TypeError(`${where}: timeoutMs must be an integer from 1 to 10000.`)
  }
  return timeoutMs
}

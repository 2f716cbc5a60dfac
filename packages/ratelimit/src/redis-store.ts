import { createHash } from 'node:crypto'
import { checkOptions, type KnownOptions } from '@apiward/core'
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { MemoryCounter } from './memory-store.js'
import {
  type Counter,
  CounterRegistry,
  type CounterSpec,
  type CounterState,
  type RateLimitStore,
  StoreUnavailableError,
} from './store.js'

/**
 * An ioredis client (`new Redis(...)`) or a node-redis v4+ client (`createClient(...)`, connected).
 * Only the error listener is typed here, so neither library is needed to compile.
 */
export interface RedisClientLike {
  on(event: 'error', listener: (err: Error) => void): unknown
}

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected ioredis or node-redis client, configured by you. Recommended for ioredis:
   * `enableOfflineQueue: false` (commands fail at once while disconnected instead of queueing)
   * and `maxRetriesPerRequest: 1`. The store's timeout holds whatever the configuration.
   *
   * The store adds an `error` listener to the client: node-redis crashes the process on an
   * `error` event nobody listens to, and an outage must never do that.
   */
  client: RedisClientLike
  /** Prefix of every key the store writes. Default `'apiward:'`. */
  prefix?: string
  /**
   * Longest wait for one store call, in milliseconds, after which the call counts as failed and
   * the guard's `onStoreFailure` policy answers. Default 100: a healthy Redis on the same network
   * answers in about a millisecond, and a request must never hang on a sick one.
   */
  timeoutMs?: number
  /**
   * After 3 failed calls in a row, calls are not even tried for this many milliseconds (the
   * circuit is open): every decision is made by the policy at once instead of after a timeout.
   * The first call after the pause tries Redis again, so recovery needs no restart. Also the
   * `Retry-After` of a `fail-closed` 503 (rounded up to seconds). Default 1000.
   */
  cooldownMs?: number
  /**
   * How many instances of the API share this Redis. While Redis is unavailable, a `fail-open`
   * guard counts in memory with `points / instances` per instance, so the whole fleet still
   * admits about the configured limit. Default 1.
   */
  instances?: number
}

const REDIS_STORE_OPTIONS = {
  client: true,
  prefix: true,
  timeoutMs: true,
  cooldownMs: true,
  instances: true,
} satisfies KnownOptions<RedisStoreOptions>
const MISTAKES = {
  redis: 'client',
  storeClient: 'client',
  keyPrefix: 'prefix',
  insuranceLimiter: "instances and the guard's onStoreFailure: 'fail-open'",
}

const DEFAULT_PREFIX = 'apiward:'
const DEFAULT_TIMEOUT_MS = 100
const DEFAULT_COOLDOWN_MS = 1000
/** Consecutive failures that open the circuit: one slow answer is a blip, three are an outage. */
const FAILURES_TO_OPEN = 3

type ClientKind = 'ioredis' | 'node-redis'

/** What the store calls to run its scripts, on either client. */
type IoredisScripting = {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void
} & Record<string, ((...args: string[]) => Promise<unknown>) | undefined>
interface NodeRedisScripting {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
}

function clientKind(client: unknown): ClientKind {
  const c = client as { defineCommand?: unknown; status?: unknown; isReady?: unknown; on?: unknown }
  if (typeof c !== 'object' || c === null || typeof c.on !== 'function') {
    throw new TypeError('redisStore(): client must be an ioredis or node-redis client')
  }
  if (typeof c.defineCommand === 'function' && typeof c.status === 'string') return 'ioredis'
  if (typeof c.isReady === 'boolean') return 'node-redis'
  throw new TypeError(
    'redisStore(): client must be an ioredis client (new Redis(...)) or a node-redis v4+ client (createClient(...))',
  )
}

function positiveInteger(
  value: unknown,
  name: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(`redisStore(): ${name} must be an integer from 1 to ${max}, got ${String(value)}`)
  }
  return value
}

function toState(res: RateLimiterRes): CounterState {
  return { consumed: res.consumedPoints, resetAt: Date.now() + Math.max(0, res.msBeforeNext) }
}

/** A Lua script and its SHA-1, run by `EVALSHA` (node-redis) or as an ioredis command. */
interface Script {
  readonly command: string
  readonly lua: string
  readonly sha: string
}

function script(command: string, lua: string): Script {
  return { command, lua, sha: createHash('sha1').update(lua).digest('hex') }
}

/**
 * A hit: KEYS[1] the counter's key; ARGV the cost, the window in seconds, and the limit, or -1
 * to add the cost whatever the count. A cost that does not fit the limit consumes nothing and
 * starts no window; the answer is `{consumed, ms until the window ends, 1 if taken else 0}`.
 *
 * apiward's own, not rate-limiter-flexible's `consume()`: its script adds the cost whether or not
 * it fits (a refused costly request would drain the bucket), and a custom script for it is
 * registered under one command name per ioredis client, which any other `RateLimiterRedis` on
 * the client overwrites with its own.
 */
const HIT = script(
  'apiwardRateLimitHit',
  `local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local consumed = tonumber(redis.call('get', KEYS[1]) or '0')
if limit >= 0 and consumed + cost > limit then
  local ttl = redis.call('pttl', KEYS[1])
  if ttl < 0 then ttl = 1000 * tonumber(ARGV[2]) end
  return {consumed, ttl, 0}
end
redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
consumed = redis.call('incrby', KEYS[1], cost)
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = 1000 * tonumber(ARGV[2])
end
return {consumed, ttl, 1}`,
)

/**
 * Gives points back: KEYS[1] the counter's key, ARGV[1] the points, ARGV[2] the longest time to
 * live (ms) the window taken from can have left, or -1. Never below zero, and never to a window
 * that is not running (the decrement that rate-limiter-flexible's `reward()` makes on a key that
 * just ended starts a window with a negative count, room beyond the limit), nor to a window
 * started since (its time to live is longer than what the one taken from had left).
 */
const GIVE_BACK = script(
  'apiwardRateLimitGiveBack',
  `local consumed = tonumber(redis.call('get', KEYS[1]) or '0')
if consumed <= 0 then return 0 end
local within = tonumber(ARGV[2])
if within >= 0 and redis.call('pttl', KEYS[1]) > within then return 0 end
return redis.call('decrby', KEYS[1], math.min(consumed, tonumber(ARGV[1])))`,
)

/** What the hit script answers, as either client returns it. */
type HitAnswer = [consumed: number, ttl: number, taken: number]

function hitState(answer: unknown): CounterState {
  const [consumed, ttl, taken] = (answer as HitAnswer).map(Number) as HitAnswer
  const resetAt = Date.now() + Math.max(0, ttl)
  return taken === 1 ? { consumed, resetAt } : { consumed, resetAt, refused: true }
}

/** One remote counter: atomic hits in Redis behind the store's guard rails. */
class RedisCounter implements Counter {
  readonly #store: RedisStore
  readonly #limiter: RateLimiterRedis
  readonly #spec: CounterSpec

  constructor(store: RedisStore, limiter: RateLimiterRedis, spec: CounterSpec) {
    this.#store = store
    this.#limiter = limiter
    this.#spec = spec
  }

  #hit(key: string, cost: number, limit: number): Promise<CounterState> {
    const args = [String(cost), String(this.#spec.duration), String(limit)]
    return this.#store.call(() => this.#store.eval(HIT, this.#limiter.getKey(key), args)).then(hitState)
  }

  hit(key: string, cost: number): Promise<CounterState> {
    return this.#hit(key, cost, -1)
  }

  take(key: string, cost: number): Promise<CounterState> {
    return this.#hit(key, cost, this.#spec.points)
  }

  peek(key: string): Promise<CounterState | undefined> {
    return this.#store
      .call(() => this.#limiter.get(key))
      .then((res) => (res === null ? undefined : toState(res)))
  }

  reward(key: string, points: number, taken?: CounterState): Promise<void> {
    // The window's time to live can only have shrunk since the take answered `resetAt` (network
    // latency only shortens it further); 1 ms for Redis rounding.
    const within = taken === undefined ? -1 : Math.max(0, taken.resetAt - Date.now() + 1)
    const args = [String(points), String(within)]
    return this.#store
      .call(() => this.#store.eval(GIVE_BACK, this.#limiter.getKey(key), args))
      .then(() => undefined)
  }

  block(key: string, seconds: number): Promise<void> {
    return this.#store.call(() => this.#limiter.block(key, seconds)).then(() => undefined)
  }

  reset(key: string): Promise<void> {
    return this.#store.call(() => this.#limiter.delete(key)).then(() => undefined)
  }
}

/**
 * The in-memory stand-in of a remote counter: a memory counter (synchronous, exact, bounded by
 * the default `maxKeys`) with the instance's share of the points. Its states are shifted onto
 * the scale of the full limit, so `points - consumed` is the share left and the guard needs no
 * second set of limits.
 */
class InsuranceCounter implements Counter {
  readonly #counter: MemoryCounter
  readonly #offset: number

  constructor(counter: MemoryCounter, offset: number) {
    this.#counter = counter
    this.#offset = offset
  }

  #shift(state: CounterState): CounterState {
    const consumed = state.consumed + this.#offset
    return state.refused === true
      ? { consumed, resetAt: state.resetAt, refused: true }
      : { consumed, resetAt: state.resetAt }
  }

  hit(key: string, cost: number): CounterState {
    return this.#shift(this.#counter.hit(key, cost))
  }

  take(key: string, cost: number): CounterState {
    return this.#shift(this.#counter.take(key, cost))
  }

  peek(key: string): CounterState | undefined {
    const state = this.#counter.peek(key)
    return state === undefined ? undefined : this.#shift(state)
  }

  reward(key: string, points: number): void {
    this.#counter.reward(key, points)
  }

  block(key: string, seconds: number): void {
    this.#counter.block(key, seconds)
  }

  reset(key: string): void {
    this.#counter.reset(key)
  }
}

class RedisStore implements RateLimitStore {
  readonly remote = true
  readonly retryAfter: number
  readonly #client: unknown
  readonly #kind: ClientKind
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #cooldownMs: number
  readonly #instances: number
  readonly #counters = new CounterRegistry<RedisCounter>()
  readonly #insurance = new CounterRegistry<InsuranceCounter>()
  #failures = 0
  #openUntil = 0
  #lastError: Error | undefined

  constructor(options: RedisStoreOptions) {
    checkOptions<RedisStoreOptions>(
      options,
      'redisStore()',
      REDIS_STORE_OPTIONS,
      MISTAKES,
      'redisStore({ client })',
    )
    this.#kind = clientKind(options.client)
    this.#client = options.client
    if (options.prefix !== undefined && typeof options.prefix !== 'string') {
      throw new TypeError('redisStore(): prefix must be a string')
    }
    this.#prefix = options.prefix ?? DEFAULT_PREFIX
    this.#timeoutMs = positiveInteger(options.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS, 10_000)
    this.#cooldownMs = positiveInteger(options.cooldownMs, 'cooldownMs', DEFAULT_COOLDOWN_MS, 600_000)
    this.#instances = positiveInteger(options.instances, 'instances', 1, 10_000)
    this.retryAfter = Math.ceil(this.#cooldownMs / 1000)
    options.client.on('error', (err) => {
      this.#lastError = err
    })
    if (this.#kind === 'ioredis') {
      const client = options.client as unknown as IoredisScripting
      for (const { command, lua } of [HIT, GIVE_BACK]) client.defineCommand(command, { numberOfKeys: 1, lua })
    }
  }

  /** Runs a script of one key: an ioredis command (EVALSHA, then EVAL once), or EVALSHA on node-redis. */
  eval(run: Script, key: string, args: readonly string[]): Promise<unknown> {
    if (this.#kind === 'ioredis') {
      const client = this.#client as IoredisScripting
      return client[run.command]!(key, ...args)
    }
    const client = this.#client as NodeRedisScripting
    const options = { keys: [key], arguments: [...args] }
    return client.evalSha(run.sha, options).catch((err: unknown) => {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return client.eval(run.lua, options)
    })
  }

  counter(spec: CounterSpec): Counter {
    return this.#counters.get(
      spec,
      () =>
        new RedisCounter(
          this,
          new RateLimiterRedis({
            storeClient: this.#client,
            useRedisPackage: this.#kind === 'node-redis',
            keyPrefix: this.#prefix + spec.name,
            points: spec.points,
            duration: spec.duration,
          } as ConstructorParameters<typeof RateLimiterRedis>[0]),
          spec,
        ),
    )
  }

  insurance(spec: CounterSpec): Counter {
    return this.#insurance.get(spec, () => {
      const share = Math.max(1, Math.ceil(spec.points / this.#instances))
      return new InsuranceCounter(new MemoryCounter({ ...spec, points: share }), spec.points - share)
    })
  }

  /** Whether the client is known to be down, so a call would only wait or queue. */
  #down(): boolean {
    const client = this.#client as { status?: string; isReady?: boolean }
    if (this.#kind === 'ioredis') {
      return client.status === 'reconnecting' || client.status === 'end' || client.status === 'close'
    }
    return client.isReady !== true
  }

  #fail(): void {
    this.#failures++
    if (this.#failures >= FAILURES_TO_OPEN) this.#openUntil = Date.now() + this.#cooldownMs
  }

  /**
   * Runs one store call bounded by the timeout and the circuit. A rate-limiter-flexible
   * rejection carrying a `RateLimiterRes` is an answer (over the limit), not a failure.
   */
  call<T>(run: () => Promise<T>): Promise<T> {
    if (this.#failures >= FAILURES_TO_OPEN && Date.now() < this.#openUntil) {
      return Promise.reject(
        new StoreUnavailableError(
          'circuit_open',
          'Redis failed repeatedly; waiting before trying again',
          this.#lastError,
        ),
      )
    }
    if (this.#down()) {
      this.#fail()
      return Promise.reject(new StoreUnavailableError('not_ready', 'Redis is not connected', this.#lastError))
    }
    let pending: Promise<T>
    try {
      pending = run()
    } catch (err) {
      this.#fail()
      return Promise.reject(new StoreUnavailableError('error', 'Redis call failed', err))
    }
    return new Promise((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        settled = true
        this.#fail()
        reject(new StoreUnavailableError('timeout', `Redis did not answer within ${this.#timeoutMs} ms`))
      }, this.#timeoutMs)
      const answered = (res: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.#failures = 0
        resolve(res as T)
      }
      pending.then(answered, (err: unknown) => {
        if (err instanceof RateLimiterRes) {
          answered(err)
          return
        }
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.#fail()
        reject(new StoreUnavailableError('error', 'Redis call failed', err))
      })
    })
  }
}

/**
 * A store in Redis, shared by every instance of the API: counters are atomic (one Lua script
 * per hit, from rate-limiter-flexible), so N instances together admit exactly the limit.
 *
 * Every call is bounded by `timeoutMs`; failures open a short circuit (`cooldownMs`); the guard's
 * `onStoreFailure` policy decides what a request gets meanwhile. Nothing here can reject
 * unhandled or make a request hang.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * const store = redisStore({
 *   client: new Redis(process.env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
 *   instances: 3,
 * })
 * app.use(guard(rateLimit({ points: 100, duration: 60, store, onStoreFailure: 'fail-open' })))
 * ```
 */
export function redisStore(options: RedisStoreOptions): RateLimitStore {
  return new RedisStore(options)
}

import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
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

const DEFAULT_PREFIX = 'apiward:'
const DEFAULT_TIMEOUT_MS = 100
const DEFAULT_COOLDOWN_MS = 1000
/** Consecutive failures that open the circuit: one slow answer is a blip, three are an outage. */
const FAILURES_TO_OPEN = 3

type ClientKind = 'ioredis' | 'node-redis'

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

/** One remote counter: rate-limiter-flexible's atomic Redis limiter behind the store's guard rails. */
class RedisCounter implements Counter {
  readonly #store: RedisStore
  readonly #limiter: RateLimiterRedis

  constructor(store: RedisStore, limiter: RateLimiterRedis) {
    this.#store = store
    this.#limiter = limiter
  }

  hit(key: string, cost: number): Promise<CounterState> {
    return this.#store.call(() => this.#limiter.consume(key, cost)).then(toState)
  }

  peek(key: string): Promise<CounterState | undefined> {
    return this.#store
      .call(() => this.#limiter.get(key))
      .then((res) => (res === null ? undefined : toState(res)))
  }

  reward(key: string, points: number): Promise<void> {
    return this.#store.call(() => this.#limiter.reward(key, points)).then(() => undefined)
  }

  block(key: string, seconds: number): Promise<void> {
    return this.#store.call(() => this.#limiter.block(key, seconds)).then(() => undefined)
  }

  reset(key: string): Promise<void> {
    return this.#store.call(() => this.#limiter.delete(key)).then(() => undefined)
  }
}

/**
 * The in-memory stand-in of a remote counter: rate-limiter-flexible's memory limiter with the
 * instance's share of the points. Its states are shifted onto the scale of the full limit, so
 * `points - consumed` is the share left and the guard needs no second set of limits.
 */
class InsuranceCounter implements Counter {
  readonly #limiter: RateLimiterMemory
  readonly #offset: number

  constructor(limiter: RateLimiterMemory, offset: number) {
    this.#limiter = limiter
    this.#offset = offset
  }

  #state(res: RateLimiterRes): CounterState {
    return {
      consumed: res.consumedPoints + this.#offset,
      resetAt: Date.now() + Math.max(0, res.msBeforeNext),
    }
  }

  hit(key: string, cost: number): Promise<CounterState> {
    return this.#limiter.consume(key, cost).then(
      (res) => this.#state(res),
      (res: unknown) => {
        if (res instanceof RateLimiterRes) return this.#state(res)
        throw res
      },
    )
  }

  peek(key: string): Promise<CounterState | undefined> {
    return this.#limiter.get(key).then((res) => (res === null ? undefined : this.#state(res)))
  }

  reward(key: string, points: number): Promise<void> {
    return this.#limiter.reward(key, points).then(() => undefined)
  }

  block(key: string, seconds: number): Promise<void> {
    return this.#limiter.block(key, seconds).then(() => undefined)
  }

  reset(key: string): Promise<void> {
    return this.#limiter.delete(key).then(() => undefined)
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
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('redisStore(options): options must be an object with a client')
    }
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
        ),
    )
  }

  insurance(spec: CounterSpec): Counter {
    return this.#insurance.get(spec, () => {
      const share = Math.max(1, Math.ceil(spec.points / this.#instances))
      const limiter = new RateLimiterMemory({ keyPrefix: spec.name, points: share, duration: spec.duration })
      return new InsuranceCounter(limiter, spec.points - share)
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

/** What a counter holds for one key: points consumed in the current window and when it ends. */
export interface CounterState {
  /** Points consumed in the window (by `take()`, only what was let through). */
  readonly consumed: number
  /** When the window (or a block) ends, in milliseconds since the epoch. */
  readonly resetAt: number
  /** `true` when `take()` refused: the cost did not fit, and nothing was consumed. */
  readonly refused?: boolean
}

/** The shape of one counter: at most `points` in a fixed window of `duration` seconds per key. */
export interface CounterSpec {
  /** Namespace of the counter's keys in the store; one name is one set of counters. */
  readonly name: string
  /** Points a key may consume per window. */
  readonly points: number
  /** Window length in whole seconds; the window of a key starts with its first hit. */
  readonly duration: number
  /** Longest block (seconds) the counter will be asked for, when longer than the window. */
  readonly blockDuration?: number
}

/**
 * A fixed-window counter per key. A memory counter answers synchronously; a remote one returns
 * promises that reject with {@link StoreUnavailableError} when the store cannot answer in time.
 */
export interface Counter {
  /**
   * Adds `cost` points to the key's window (starting one if none runs), whether or not they fit,
   * and returns the state: a caller that counts refusals compares `consumed` with the limit.
   * `now`, in milliseconds since the epoch, is the caller's clock when it has just read it (a
   * guard reads it once a request); a store may use it instead of reading the clock again.
   */
  hit(key: string, cost: number, now?: number): CounterState | Promise<CounterState>
  /**
   * Adds `cost` points only when they fit (`consumed + cost <= points`), atomically; otherwise
   * consumes nothing and answers the state with `refused: true`. A refused request costs the
   * key nothing, so one costly request cannot drain a bucket it is refused from.
   */
  take(key: string, cost: number, now?: number): CounterState | Promise<CounterState>
  /** The key's state, `undefined` when no window runs. */
  peek(key: string): CounterState | undefined | Promise<CounterState | undefined>
  /**
   * Gives points back to a running window, never below zero. With `taken`, the state a `take()`
   * answered, only to that window: a remote window that ended meanwhile and was started again by
   * another request keeps its count, or the give-back would be room beyond the limit.
   */
  reward(key: string, points: number, taken?: CounterState): void | Promise<void>
  /** Marks the key as over its limit for `seconds`. */
  block(key: string, seconds: number): void | Promise<void>
  /** Forgets the key. */
  reset(key: string): void | Promise<void>
}

/**
 * Where rate-limit and brute-force counters live. Create one with `memoryStore()` (one process)
 * or `redisStore()` (shared by every instance of the API).
 */
export interface RateLimitStore {
  /**
   * Whether the store lives outside the process and may be unavailable; guards on a remote store
   * need an explicit `onStoreFailure` policy.
   */
  readonly remote: boolean
  /** The counter of a spec; the same name and limits give the same counter. */
  counter(spec: CounterSpec): Counter
  /** The in-memory stand-in of a remote counter while the store is unavailable (`fail-open`). */
  insurance?(spec: CounterSpec): Counter
  /** Seconds a client is asked to wait (`Retry-After`) when a `fail-closed` guard refuses. */
  readonly retryAfter?: number
}

/** Why a remote store could not answer. */
export type StoreFailureReason = 'timeout' | 'not_ready' | 'error' | 'circuit_open'

/**
 * A remote store could not answer: it timed out, is disconnected, failed, or was recently
 * failing (the circuit is open). Guards apply their `onStoreFailure` policy to it.
 */
export class StoreUnavailableError extends Error {
  readonly reason: StoreFailureReason

  constructor(reason: StoreFailureReason, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'StoreUnavailableError'
    this.reason = reason
  }
}

/** What tells two specs of one name apart. */
function specSignature(spec: CounterSpec): string {
  return `${spec.points}/${spec.duration}/${spec.blockDuration ?? 0}`
}

/**
 * Remembers the counters a store made, so that a second limiter with the same name but other
 * limits is a configuration error instead of silently shared counters.
 */
export class CounterRegistry<C> {
  readonly #counters = new Map<string, { signature: string; counter: C }>()

  get(spec: CounterSpec, create: () => C): C {
    const signature = specSignature(spec)
    const existing = this.#counters.get(spec.name)
    if (existing !== undefined) {
      if (existing.signature !== signature) {
        throw new TypeError(
          `Two limiters use the counter name '${spec.name}' on one store with different limits; give each limiter its own name option`,
        )
      }
      return existing.counter
    }
    const counter = create()
    this.#counters.set(spec.name, { signature, counter })
    return counter
  }
}

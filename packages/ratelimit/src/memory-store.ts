import { checkOptions, type KnownOptions, warnOnce } from '@apiward/core'
import { integerOption } from './options.js'
import {
  type Counter,
  CounterRegistry,
  type CounterSpec,
  type CounterState,
  type RateLimitStore,
} from './store.js'

interface Entry {
  consumed: number
  resetAt: number
}

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most keys each counter holds (one counter per window of each limiter, two per
   * `bruteForce()`). Default 100 000: about 19 MB per counter at the measured 190 bytes a key
   * (`bench/keys.mjs`), far more clients than one process serves in a window, yet bounded
   * whatever a client invents (one million made-up keys grow an unbounded counter by 182 MB).
   *
   * When a counter is full, ended windows are dropped first. A window still running is never
   * dropped: a key over its limit would come back with a fresh bucket, and a client able to
   * invent keys could evict its own that way. Keys that find no room instead share one overflow
   * bucket, with the same limit, until entries end; limits stay enforced (new clients may be
   * refused early, never let through beyond a limit) and the process warns once,
   * `APIWARD_MEMORY_STORE_FULL`.
   */
  maxKeys?: number
}

/** The default of `maxKeys`. */
export const DEFAULT_MAX_KEYS = 100_000

/**
 * The shortest pause between two sweeps of a full counter that freed nothing: a sweep reads
 * every entry, and a flood of new keys must not make each of its requests pay for one.
 */
const SWEEP_PAUSE_MS = 1000

/**
 * A synchronous fixed-window counter in process memory, holding at most `maxKeys` keys.
 *
 * Entries live in two generations of `period` (the longest window or block) milliseconds: new
 * and renewed entries go to the current map, and each rotation drops the previous one whole.
 * An entry created during a generation ends before the generation after the next one begins,
 * so a dropped map only ever holds ended windows. Cleaning up costs one `new Map()` per period:
 * no timer per key (rate-limiter-flexible's memory limiter arms one per key) and no sweep, until
 * the counter is full: then ended entries are swept out (at most once per `SWEEP_PAUSE_MS`, or
 * when the first running window ends), and keys without room count in one shared overflow entry.
 *
 * Every operation on a key the full counter does not hold applies to the overflow entry, except
 * `reset()`, which never forgets it: the overflow counts for every such key together, and one
 * client's success must not clear what the others consumed.
 */
export class MemoryCounter implements Counter {
  readonly #points: number
  readonly #windowMs: number
  readonly #periodMs: number
  readonly #maxKeys: number
  #current = new Map<string, Entry>()
  #previous = new Map<string, Entry>()
  #rotateAt = 0
  /** No entry of a full counter ends before this time, so sweeping earlier would free nothing. */
  #sweepAfter = 0
  #overflow: Entry | undefined

  constructor(spec: CounterSpec, maxKeys = DEFAULT_MAX_KEYS) {
    this.#points = spec.points
    this.#windowMs = spec.duration * 1000
    this.#periodMs = Math.max(spec.duration, spec.blockDuration ?? 0) * 1000
    this.#maxKeys = maxKeys
  }

  /** Keys with an entry, ended windows included until they are dropped; never above `maxKeys`. */
  get size(): number {
    return this.#current.size + this.#previous.size
  }

  #rotate(now: number): void {
    this.#previous = now >= this.#rotateAt + this.#periodMs ? new Map() : this.#current
    this.#current = new Map()
    this.#rotateAt = now + this.#periodMs
  }

  /** Whether the counter has no room for another key, after dropping ended entries if it may. */
  #full(now: number): boolean {
    if (this.size < this.#maxKeys) return false
    if (now >= this.#sweepAfter) this.#sweep(now)
    return this.size >= this.#maxKeys
  }

  #sweep(now: number): void {
    let firstEnd = Number.POSITIVE_INFINITY
    for (const map of [this.#previous, this.#current]) {
      for (const [key, entry] of map) {
        if (entry.resetAt <= now) map.delete(key)
        else if (entry.resetAt < firstEnd) firstEnd = entry.resetAt
      }
    }
    this.#sweepAfter = Math.max(firstEnd, now + SWEEP_PAUSE_MS)
  }

  #overflowEntry(now: number): Entry {
    warnOnce(
      'APIWARD_MEMORY_STORE_FULL',
      `A rate-limit memory store counter holds its maxKeys (${this.#maxKeys}) keys with windows still running: keys without room share one overflow bucket until windows end, so new clients may be refused early. Raise memoryStore({ maxKeys }), or share counters in Redis with redisStore().`,
      'ratelimit.md#memorystore',
    )
    let entry = this.#overflow
    if (entry === undefined || entry.resetAt <= now) {
      entry = { consumed: 0, resetAt: now + this.#windowMs }
      this.#overflow = entry
    }
    return entry
  }

  /** The running entry of a key, the overflow entry for a key a full counter does not hold, or none. */
  #find(key: string, now: number): Entry | undefined {
    if (now >= this.#rotateAt) this.#rotate(now)
    const entry = this.#current.get(key) ?? this.#previous.get(key)
    if (entry !== undefined) return entry.resetAt > now ? entry : undefined
    const overflow = this.#overflow
    return overflow !== undefined && overflow.resetAt > now && this.#full(now) ? overflow : undefined
  }

  /** The entry of a key's running window, started (in the table or the overflow) when none runs. */
  #window(key: string, now: number): Entry {
    if (now >= this.#rotateAt) this.#rotate(now)
    const current = this.#current.get(key)
    const entry = current ?? this.#previous.get(key)
    if (entry !== undefined && entry.resetAt > now) return entry
    if (current !== undefined) {
      current.consumed = 0
      current.resetAt = now + this.#windowMs
      return current
    }
    // An ended entry of the previous generation gives its place up; it must move, since the
    // previous map is dropped before a window started now would end.
    if (entry !== undefined) this.#previous.delete(key)
    else if (this.#full(now)) return this.#overflowEntry(now)
    const created: Entry = { consumed: 0, resetAt: now + this.#windowMs }
    this.#current.set(key, created)
    return created
  }

  hit(key: string, cost: number, now = Date.now()): CounterState {
    const entry = this.#window(key, now)
    entry.consumed += cost
    return entry
  }

  take(key: string, cost: number, now = Date.now()): CounterState {
    if (cost > this.#points) {
      // Can never fit: answered without starting a window for the key.
      const entry = this.#find(key, now)
      return {
        consumed: entry?.consumed ?? 0,
        resetAt: entry?.resetAt ?? now + this.#windowMs,
        refused: true,
      }
    }
    const entry = this.#window(key, now)
    if (entry.consumed + cost > this.#points) {
      return { consumed: entry.consumed, resetAt: entry.resetAt, refused: true }
    }
    entry.consumed += cost
    return entry
  }

  peek(key: string): CounterState | undefined {
    return this.#find(key, Date.now())
  }

  reward(key: string, points: number): void {
    const entry = this.#find(key, Date.now())
    if (entry !== undefined) entry.consumed = Math.max(0, entry.consumed - points)
  }

  block(key: string, seconds: number): void {
    const now = Date.now()
    const resetAt = now + seconds * 1000
    if (now >= this.#rotateAt) this.#rotate(now)
    const tracked = this.#current.has(key) || this.#previous.has(key)
    if (!tracked && this.#full(now)) {
      const overflow = this.#overflowEntry(now)
      overflow.consumed = Math.max(overflow.consumed, this.#points + 1)
      overflow.resetAt = Math.max(overflow.resetAt, resetAt)
      return
    }
    const entry = this.#find(key, now)
    const consumed = Math.max(entry?.consumed ?? 0, this.#points + 1)
    this.#previous.delete(key)
    this.#current.set(key, { consumed, resetAt })
  }

  reset(key: string): void {
    this.#current.delete(key)
    this.#previous.delete(key)
  }
}

const MEMORY_STORE_OPTIONS = { maxKeys: true } satisfies KnownOptions<MemoryStoreOptions>
const MISTAKES = {
  max: 'maxKeys',
  maxSize: 'maxKeys',
  capacity: 'maxKeys',
}

/**
 * A store in process memory: synchronous, exact, bounded (`maxKeys` per counter), and lost on
 * restart. The default of every guard. With several instances of an API, each counts on its
 * own: use `redisStore()` there.
 *
 * @example
 * ```ts
 * const store = memoryStore({ maxKeys: 50_000 })
 * app.use(guard(rateLimit({ points: 100, duration: 60, store })))
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): RateLimitStore {
  const where = 'memoryStore()'
  checkOptions<MemoryStoreOptions>(options, where, MEMORY_STORE_OPTIONS, MISTAKES)
  const maxKeys = integerOption(options.maxKeys, 'maxKeys', where, {
    min: 1,
    max: 1e9,
    fallback: DEFAULT_MAX_KEYS,
  })
  const registry = new CounterRegistry<MemoryCounter>()
  return {
    remote: false,
    counter: (spec) => registry.get(spec, () => new MemoryCounter(spec, maxKeys)),
  }
}

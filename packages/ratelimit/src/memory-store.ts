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

/**
 * A synchronous fixed-window counter in process memory.
 *
 * Entries live in two generations of `period` (the longest window or block) milliseconds: new
 * and renewed entries go to the current map, and each rotation drops the previous one whole.
 * An entry created during a generation ends before the generation after the next one begins,
 * so a dropped map only ever holds ended windows. Cleaning up costs one `new Map()` per period:
 * no timer per key (rate-limiter-flexible's memory limiter arms one per key) and no sweep.
 */
export class MemoryCounter implements Counter {
  readonly #points: number
  readonly #windowMs: number
  readonly #periodMs: number
  #current = new Map<string, Entry>()
  #previous = new Map<string, Entry>()
  #rotateAt = 0

  constructor(spec: CounterSpec) {
    this.#points = spec.points
    this.#windowMs = spec.duration * 1000
    this.#periodMs = Math.max(spec.duration, spec.blockDuration ?? 0) * 1000
  }

  /** Keys with an entry, ended windows included until their generation is dropped. */
  get size(): number {
    return this.#current.size + this.#previous.size
  }

  #live(key: string, now: number): Entry | undefined {
    if (now >= this.#rotateAt) {
      this.#previous = now >= this.#rotateAt + this.#periodMs ? new Map() : this.#current
      this.#current = new Map()
      this.#rotateAt = now + this.#periodMs
    }
    const entry = this.#current.get(key) ?? this.#previous.get(key)
    return entry !== undefined && entry.resetAt > now ? entry : undefined
  }

  hit(key: string, cost: number): CounterState {
    const now = Date.now()
    const entry = this.#live(key, now)
    if (entry !== undefined) {
      entry.consumed += cost
      return entry
    }
    const created: Entry = { consumed: cost, resetAt: now + this.#windowMs }
    this.#current.set(key, created)
    return created
  }

  peek(key: string): CounterState | undefined {
    return this.#live(key, Date.now())
  }

  reward(key: string, points: number): void {
    const entry = this.#live(key, Date.now())
    if (entry !== undefined) entry.consumed = Math.max(0, entry.consumed - points)
  }

  block(key: string, seconds: number): void {
    const now = Date.now()
    const entry = this.#live(key, now)
    const consumed = Math.max(entry?.consumed ?? 0, this.#points + 1)
    this.#previous.delete(key)
    this.#current.set(key, { consumed, resetAt: now + seconds * 1000 })
  }

  reset(key: string): void {
    this.#current.delete(key)
    this.#previous.delete(key)
  }
}

/**
 * A store in process memory: synchronous, exact, and lost on restart. The default of every
 * guard. With several instances of an API, each counts on its own: use `redisStore()` there.
 *
 * @example
 * ```ts
 * const store = memoryStore()
 * app.use(guard(rateLimit({ points: 100, duration: 60, store })))
 * ```
 */
export function memoryStore(): RateLimitStore {
  const registry = new CounterRegistry<MemoryCounter>()
  return {
    remote: false,
    counter: (spec) => registry.get(spec, () => new MemoryCounter(spec)),
  }
}

/**
 * A map of at most `max` entries, the one bounded map of `@apiward/auth` (verified tokens,
 * API-key records, resolved issuers, revoked token IDs). Eviction approximates LRU with the
 * CLOCK (second chance) rule over a ring of slots: at the bound, the hand drops the first entry
 * that is expired or was not read since the hand last passed it, and clears the mark of each
 * entry it spares. A read is one `Map` lookup and a flag, never a reordering; a write evicts in
 * amortised constant time, and nothing ever walks the `Map` itself (walking a `Map` from its
 * oldest end skips every hole that deletions left, which made eviction cost grow with the size).
 *
 * Entries may carry an expiry (`until`, milliseconds since the epoch): an expired entry is never
 * returned, and is dropped when read or when the hand meets it.
 *
 * @example
 * ```ts
 * const records = new BoundedMap<string, ApiKeyRecord>(1000)
 * records.set(id, record, Date.now() + 30_000)
 * ```
 */
export class BoundedMap<K, V> {
  readonly max: number
  readonly #index = new Map<K, number>()
  #keys: (K | undefined)[] = []
  #values: (V | undefined)[] = []
  #until: number[] = []
  readonly #recent: Uint8Array
  #free: number[] = []
  #hand = 0

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new TypeError('BoundedMap: max is a positive integer.')
    this.max = max
    this.#recent = new Uint8Array(max)
  }

  get size(): number {
    return this.#index.size
  }

  /** The value of `key`, `undefined` when absent or expired; marks it recently used. */
  get(key: K): V | undefined {
    const slot = this.#index.get(key)
    if (slot === undefined) return undefined
    const until = this.#until[slot]!
    if (until !== Number.POSITIVE_INFINITY && until <= Date.now()) {
      this.#remove(slot)
      return undefined
    }
    this.#recent[slot] = 1
    return this.#values[slot]
  }

  /** Whether `key` is held and not expired; does not mark it used. */
  has(key: K): boolean {
    const slot = this.#index.get(key)
    if (slot === undefined) return false
    const until = this.#until[slot]!
    if (until !== Number.POSITIVE_INFINITY && until <= Date.now()) {
      this.#remove(slot)
      return false
    }
    return true
  }

  /** Sets `key` (not yet marked used), evicting one entry when full; `until` is its expiry in epoch milliseconds. */
  set(key: K, value: V, until = Number.POSITIVE_INFINITY): void {
    let slot = this.#index.get(key)
    if (slot === undefined) {
      slot = this.#slot()
      this.#keys[slot] = key
      this.#index.set(key, slot)
    }
    this.#values[slot] = value
    this.#until[slot] = until
    this.#recent[slot] = 0
  }

  delete(key: K): boolean {
    const slot = this.#index.get(key)
    if (slot === undefined) return false
    this.#remove(slot)
    return true
  }

  clear(): void {
    this.#index.clear()
    this.#keys = []
    this.#values = []
    this.#until = []
    this.#recent.fill(0)
    this.#free = []
    this.#hand = 0
  }

  /** A slot for a new entry: a free one, a new one below the bound, else the hand's victim. */
  #slot(): number {
    const free = this.#free.pop()
    if (free !== undefined) return free
    if (this.#keys.length < this.max) return this.#keys.length
    const now = Date.now()
    // Every slot is taken. One turn of the hand clears every mark, so this ends within max + 1 steps.
    for (;;) {
      const slot = this.#hand
      this.#hand = slot + 1 === this.max ? 0 : slot + 1
      if (this.#recent[slot] === 1 && this.#until[slot]! > now) {
        this.#recent[slot] = 0
        continue
      }
      this.#index.delete(this.#keys[slot] as K)
      return slot
    }
  }

  #remove(slot: number): void {
    this.#index.delete(this.#keys[slot] as K)
    this.#keys[slot] = undefined
    this.#values[slot] = undefined
    this.#recent[slot] = 0
    this.#free.push(slot)
  }
}

interface Slot<V> {
  value: V
  /** Read since the eviction hand last passed: spared once (second chance). */
  recent: boolean
}

/**
 * A bounded cache keyed by the token string itself: a hit costs one `Map` lookup (hashing the
 * token first would cost more than the lookup saves) and no reordering. Eviction approximates
 * LRU with the CLOCK (second chance) rule: the oldest entry goes unless it was read since, in
 * which case it moves to the back. Entries are re-validated by the caller on every hit; the
 * cache only spares the signature check.
 */
export class TokenCache<V> {
  readonly #max: number
  readonly #map = new Map<string, Slot<V>>()

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#map.size
  }

  get(token: string): V | undefined {
    const slot = this.#map.get(token)
    if (slot === undefined) return undefined
    slot.recent = true
    return slot.value
  }

  set(token: string, value: V): void {
    const map = this.#map
    const existing = map.get(token)
    if (existing !== undefined) {
      existing.value = value
      return
    }
    while (map.size >= this.#max) {
      const [oldest, slot] = map.entries().next().value as [string, Slot<V>]
      map.delete(oldest)
      if (slot.recent) {
        slot.recent = false
        map.set(oldest, slot)
      }
    }
    map.set(token, { value, recent: false })
  }

  delete(token: string): void {
    this.#map.delete(token)
  }

  clear(): void {
    this.#map.clear()
  }
}

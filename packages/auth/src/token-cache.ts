interface Slot<V> {
  /** The whole token: a hit must match it, not only its tail. */
  readonly token: string
  value: V
  /** Read since the eviction hand last passed: spared once (second chance). */
  recent: boolean
}

/** Characters of the token's tail (its signature) that key the map. */
const KEY_LENGTH = 48

function keyOf(token: string): string {
  return token.length <= KEY_LENGTH ? token : token.slice(-KEY_LENGTH)
}

/**
 * A bounded cache of verified tokens. It is keyed by the last characters of the token (the end
 * of its signature) and a hit is confirmed by comparing the whole token: hashing a short key
 * costs less than hashing the whole token, and far less than a cryptographic digest. No
 * reordering on a hit. Eviction approximates
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
    const slot = this.#map.get(keyOf(token))
    if (slot === undefined || slot.token !== token) return undefined
    slot.recent = true
    return slot.value
  }

  set(token: string, value: V): void {
    const map = this.#map
    const key = keyOf(token)
    const existing = map.get(key)
    if (existing !== undefined) map.delete(key)
    while (map.size >= this.#max) {
      const [oldest, slot] = map.entries().next().value as [string, Slot<V>]
      map.delete(oldest)
      if (slot.recent) {
        slot.recent = false
        map.set(oldest, slot)
      }
    }
    map.set(key, { token, value, recent: false })
  }

  delete(token: string): void {
    const key = keyOf(token)
    if (this.#map.get(key)?.token === token) this.#map.delete(key)
  }

  clear(): void {
    this.#map.clear()
  }
}

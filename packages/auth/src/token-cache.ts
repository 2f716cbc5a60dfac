/**
 * A bounded LRU map keyed by the token string itself: a hit costs one `Map` lookup (hashing the
 * token first would cost more than the lookup saves). Entries are re-validated by the caller on
 * every hit; the cache only spares the signature check.
 */
export class TokenCache<V> {
  readonly #max: number
  readonly #map = new Map<string, V>()

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#map.size
  }

  get(token: string): V | undefined {
    const map = this.#map
    const value = map.get(token)
    if (value !== undefined && map.size > 1) {
      map.delete(token)
      map.set(token, value)
    }
    return value
  }

  set(token: string, value: V): void {
    const map = this.#map
    map.delete(token)
    if (map.size >= this.#max) map.delete(map.keys().next().value as string)
    map.set(token, value)
  }

  delete(token: string): void {
    this.#map.delete(token)
  }

  clear(): void {
    this.#map.clear()
  }
}

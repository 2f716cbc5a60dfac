/**
 * A bounded memo of decisions: at most `max` entries, the oldest dropped first. One memo belongs
 * to one loaded policy and is thrown away with it, so a reload never serves a stale decision.
 */
export class DecisionMemo {
  readonly #max: number
  readonly #entries = new Map<string, boolean>()

  constructor(max: number) {
    this.#max = max
  }

  get(key: string): boolean | undefined {
    return this.#entries.get(key)
  }

  set(key: string, allowed: boolean): void {
    const entries = this.#entries
    if (entries.size >= this.#max && !entries.has(key)) {
      const oldest = entries.keys().next()
      if (oldest.done !== true) entries.delete(oldest.value)
    }
    entries.set(key, allowed)
  }

  get size(): number {
    return this.#entries.size
  }
}

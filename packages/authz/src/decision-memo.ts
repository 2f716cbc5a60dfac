/**
 * A bounded memo of decisions: at most `max` entries (by key: the oldest dropped first; by request
 * values: all dropped when full). One memo belongs
 * to one loaded policy and is thrown away with it, so a reload never serves a stale decision.
 */
export class DecisionMemo {
  readonly #max: number
  readonly #entries = new Map<string, boolean>()
  /** Decisions by request values (`getRequest`): subject, domain, object, action, roles, nested. */
  #requests: Level = new Map()
  #requestCount = 0

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

  /**
   * The decision of a request by its values, each compared as it is (no key is built, so no two
   * requests can share one): one lookup per value, on strings whose hashes V8 keeps, where a
   * key made of them would be a new string to copy and hash on every request.
   */
  getRequest(
    subject: string,
    domain: string,
    object: string,
    action: string,
    roles: string,
  ): boolean | undefined {
    const bySubject = this.#requests.get(subject) as Level | undefined
    const byDomain = bySubject?.get(domain) as Level | undefined
    const byObject = byDomain?.get(object) as Level | undefined
    return (byObject?.get(action) as Leaf | undefined)?.get(roles)
  }

  /** Remembers a request's decision; a full memo of requests starts over (at most `max` of them). */
  setRequest(
    subject: string,
    domain: string,
    object: string,
    action: string,
    roles: string,
    allowed: boolean,
  ): void {
    if (this.#requestCount >= this.#max) {
      this.#requests = new Map()
      this.#requestCount = 0
    }
    let level: Level = this.#requests
    for (const value of [subject, domain, object, action]) {
      let next = level.get(value) as Level | undefined
      if (next === undefined) {
        next = new Map()
        level.set(value, next)
      }
      level = next
    }
    const leaf = level as unknown as Leaf
    if (!leaf.has(roles)) this.#requestCount++
    leaf.set(roles, allowed)
  }

  get size(): number {
    return this.#entries.size + this.#requestCount
  }
}

type Leaf = Map<string, boolean>
type Level = Map<string, unknown>

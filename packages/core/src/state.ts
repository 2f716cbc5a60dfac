declare const kValue: unique symbol

/**
 * A typed key of per-request state: `ctx.set(key, value)` takes only a `T` and `ctx.get(key)`
 * returns a `T | undefined`, and each adapter's `stateOf()` hands the same value to handlers. Each
 * key is an object of its own, so two packages never collide on a name.
 */
export interface StateKey<T> {
  /** What the key holds, for debuggers and errors. */
  readonly name: string
  /** Carries the type only; never set. */
  readonly [kValue]?: T
}

/**
 * Creates a typed key of per-request state; `name` is only its description (in debuggers and
 * errors), two keys of the same name are different keys.
 *
 * @example
 * ```ts
 * const kNote = createKey<Note>('note')
 * ctx.set(kNote, note)            // in a guard
 * const note = stateOf(req, kNote) // in an Express handler: Note | undefined
 * ```
 */
export function createKey<T>(name: string): StateKey<T> {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('createKey(name): name must be a non-empty string that says what the key holds')
  }
  return Object.freeze({ name })
}

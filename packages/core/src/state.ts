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

/** That the operation a request reached is deprecated, and until when it is served. */
export interface Deprecation {
  /** When it was deprecated (RFC 9745 `Deprecation`); `true` when the date is not known. */
  readonly since: Date | true
  /** When it stops being served (RFC 8594 `Sunset`), when known. */
  readonly sunset?: Date
  /** Where the migration is documented (`Link: <...>; rel="deprecation"`), when known. */
  readonly link?: string
}

/**
 * The deprecation of the operation a request reached: set by whoever knows it (validate's
 * `openapi()` from the document's `deprecated: true`, or a guard of yours) and read by whoever
 * announces it (headers' `apiVersion()`), so neither package imports the other.
 */
export const kDeprecation: StateKey<Deprecation> = createKey<Deprecation>('deprecation')

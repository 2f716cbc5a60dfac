const marked = new WeakSet<object>()

/**
 * Marks an object of hook lists (Fastify's `guard()` result, `{ onRequest, preHandler }`) so that
 * the options object it is spread into remembers it: the mark is an own enumerable property under
 * a symbol of its own, which `{ ...lists }` copies like the lists, and which a second spread does
 * not overwrite, unlike the lists. {@link checkHookLists} reads it back.
 */
export function markHookLists<T extends { [name: string]: readonly unknown[] }>(lists: T): T {
  marked.add(lists)
  Object.defineProperty(lists, Symbol('apiward.hookLists'), { value: lists, enumerable: true })
  return lists
}

/**
 * Throws a `TypeError` when hooks of a marked object spread into `options` are no longer there:
 * `{ ...guard(a), ...guard(b) }` keeps only `b`'s lists, and `{ ...g, onRequest: [mine] }` drops
 * `g`'s `onRequest`, so those guards would never run. Hooks count as kept when the list of the
 * same name (a function or an array of them) still holds them, in any order and among others.
 * `where` starts the message (the adapter and the route).
 *
 * @example
 * ```ts
 * checkHookLists({ ...guard(a), ...guard(b) }, 'GET /notes')                   // throws
 * checkHookLists({ onRequest: [...g.onRequest, mine], preHandler: g.preHandler }, 'GET /notes') // fine
 * ```
 */
export function checkHookLists(options: object, where: string): void {
  const lost: string[] = []
  for (const key of Object.getOwnPropertySymbols(options)) {
    const lists = (options as Record<symbol, unknown>)[key]
    if (typeof lists !== 'object' || lists === null || !marked.has(lists)) continue
    for (const [name, hooks] of Object.entries(lists as Record<string, readonly unknown[]>)) {
      const held = (options as Record<string, unknown>)[name]
      const kept = (hook: unknown) => held === hook || (Array.isArray(held) && held.includes(hook))
      if (!hooks.every(kept) && !lost.includes(name)) lost.push(name)
    }
  }
  if (lost.length === 0) return
  throw new TypeError(
    `${where}: a later spread or property replaced the ${lost.join(' and ')} hooks of a guard() in these options, so its guards would never run. List the guards in one guard(a, b) call, or concatenate the hook arrays (onRequest: [...g1.onRequest, ...g2.onRequest]).`,
  )
}

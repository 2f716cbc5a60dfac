/**
 * The few `Reflect` metadata functions @peculiar/x509's dependency injection asks for, so the
 * certificate generator loads without the reflect-metadata package. Import it before the library.
 */
const store = new WeakMap<object, Map<unknown, unknown>>()
const of = (target: object) => {
  let map = store.get(target)
  if (map === undefined) {
    map = new Map()
    store.set(target, map)
  }
  return map
}
const reflect = Reflect as unknown as Record<string, unknown>
reflect.getMetadata ??= (key: unknown, target: object) => {
  for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
    if (store.get(t)?.has(key)) return store.get(t)!.get(key)
  }
  return undefined
}
reflect.getOwnMetadata ??= (key: unknown, target: object) => store.get(target)?.get(key)
reflect.hasMetadata ??= (key: unknown, target: object) =>
  (reflect.getMetadata as Function)(key, target) !== undefined
reflect.defineMetadata ??= (key: unknown, value: unknown, target: object) => void of(target).set(key, value)
reflect.metadata ??= (key: unknown, value: unknown) => (target: object) => void of(target).set(key, value)

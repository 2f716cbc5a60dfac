/**
 * Which properties of a value may leave the server: `true` keeps a property whole, a nested tree
 * keeps only its listed properties, and the key `'*'` applies its tree to every property of a
 * dictionary. Arrays are projected element by element with the tree of their position.
 *
 * @example
 * ```ts
 * const tree: ProjectionTree = { id: true, title: true, owner: { id: true, name: true }, tags: true }
 * ```
 */
export type ProjectionTree = { readonly [property: string]: true | ProjectionTree }

/** Copies the allowed properties of a value (see `compileProjection`). */
export type Projection = (value: unknown) => unknown

const hasOwn = Object.prototype.hasOwnProperty
const WILDCARD = '*'

type Step = { readonly key: string; readonly sub: Projection | undefined }

/**
 * Compiles a tree of allowed properties once, at startup, into a function that copies only those
 * properties of a value, per request: the one engine behind response filtering (validate's
 * `response()`) and property-level authorization (authz's `fields()`). Whatever is not listed is
 * left out, whatever its depth, so a property a handler adds later never leaks by default.
 *
 * - Objects: a new object with the listed own properties that are present (an absent property
 *   stays absent; `undefined` stays `undefined`). A value with `toJSON()` (a `Date`, an ORM
 *   document) is projected as the JSON it stands for, as `JSON.stringify` would send it.
 * - Arrays: each element is projected with the same tree; a top-level array is a list of items.
 * - A primitive or `null` where the tree expects an object is kept: it carries no properties.
 * - Property names are copied with `defineProperty`, so a `__proto__` key in the data stays data.
 *
 * The tree is checked when compiled: anything other than `true` or a nested tree is a
 * `TypeError`.
 *
 * @example
 * ```ts
 * const publicNote = compileProjection({ id: true, title: true, owner: { id: true } })
 * publicNote({ id: 1, title: 'a', secret: 's', owner: { id: 'u1', email: 'e' } })
 * // { id: 1, title: 'a', owner: { id: 'u1' } }
 * ```
 */
export function compileProjection(tree: ProjectionTree, where = 'compileProjection()'): Projection {
  return compileNode(tree, where, '')
}

function compileNode(tree: ProjectionTree, where: string, at: string): Projection {
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) {
    throw new TypeError(`${where}: the projection at '${at || '/'}' must be an object of property names`)
  }
  const steps: Step[] = []
  let wildcard: Projection | undefined | null = null
  for (const key of Object.keys(tree)) {
    const spec = tree[key]
    let sub: Projection | undefined
    if (spec === true) sub = undefined
    else if (typeof spec === 'object' && spec !== null && !Array.isArray(spec)) {
      sub = compileNode(spec, where, `${at}/${key}`)
    } else {
      throw new TypeError(
        `${where}: '${at}/${key}' must be true (keep it whole) or a nested object of properties; got ${JSON.stringify(spec)}`,
      )
    }
    if (key === WILDCARD) wildcard = sub
    else steps.push({ key, sub })
  }
  const project = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value
    if (Array.isArray(value)) return value.map(project)
    let source: unknown = value
    // toJSON is followed once, as JSON.stringify does, so a toJSON that returns another
    // object with a toJSON cannot recurse without end.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      source = (value as { toJSON(): unknown }).toJSON()
      if (typeof source !== 'object' || source === null) return source
      if (Array.isArray(source)) return source.map(project)
    }
    const out: Record<string, unknown> = {}
    const record = source as Record<string, unknown>
    if (wildcard !== null) {
      for (const key of Object.keys(record)) copy(out, key, record[key], listed(steps, key) ?? wildcard)
      return out
    }
    for (const step of steps) {
      if (hasOwn.call(record, step.key)) copy(out, step.key, record[step.key], step.sub)
    }
    return out
  }
  return project
}

function listed(steps: readonly Step[], key: string): Projection | undefined {
  for (const step of steps) if (step.key === key) return step.sub ?? keepWhole
  return undefined
}

const keepWhole: Projection = (value) => value

function copy(out: Record<string, unknown>, key: string, value: unknown, sub: Projection | undefined): void {
  const projected = sub === undefined ? value : sub(value)
  if (key === '__proto__') {
    Object.defineProperty(out, key, {
      value: projected,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  } else out[key] = projected
}

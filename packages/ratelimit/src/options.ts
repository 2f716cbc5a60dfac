/** The options a factory knows, tied to its options type with `satisfies Record<keyof T, true>`. */
export type KnownOptions = Readonly<Record<string, true>>

/**
 * Checks an options argument: names of other libraries are refused with the name to use, and
 * any other unknown name with the closest known one, because a mistyped option (`countRefuse`,
 * `maxkeys`) would otherwise be ignored in silence and leave the default in force.
 */
export function checkOptions(
  options: unknown,
  where: string,
  mistakes: Readonly<Record<string, string>>,
  known: KnownOptions,
): asserts options is object {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object`)
  }
  for (const name of Object.keys(options)) {
    if (Object.hasOwn(known, name)) continue
    if (Object.hasOwn(mistakes, name)) {
      throw new TypeError(`${where}: unknown option '${name}'; use ${mistakes[name]}`)
    }
    const near = closest(name, Object.keys(known))
    throw new TypeError(
      `${where}: unknown option '${name}'${near === undefined ? '' : `; did you mean '${near}'?`}`,
    )
  }
}

/** The known name nearest to a mistyped one (case ignored, at most a third of its letters off). */
function closest(name: string, names: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1
  for (const candidate of names) {
    const distance = editDistance(lower, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, substitution))
    }
    previous = row
  }
  return previous[b.length]!
}

/** An optional integer option within bounds, or its default. */
export function integerOption(
  value: unknown,
  name: string,
  where: string,
  bounds: { min: number; max: number; fallback?: number },
): number {
  if (value === undefined && bounds.fallback !== undefined) return bounds.fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new TypeError(
      `${where}: ${name} must be an integer from ${bounds.min} to ${bounds.max}, got ${String(value)}`,
    )
  }
  return value
}

/** An optional function option. */
export function functionOption<F>(value: unknown, name: string, where: string): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw new TypeError(`${where}: ${name} must be a function`)
  return value as F
}

/** An optional boolean option, or its default. */
export function booleanOption(value: unknown, name: string, where: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`${where}: ${name} must be true or false`)
  return value
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/

/** A limiter or policy name: it is quoted in headers and part of store keys, so a plain token. */
export function nameOption(value: unknown, name: string, where: string, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new TypeError(
      `${where}: ${name} must be 1 to 64 letters, digits, '_', '.' or '-', got ${JSON.stringify(value)}`,
    )
  }
  return value
}

/** Longest window or block: one year, in seconds. */
export const MAX_DURATION = 31_536_000

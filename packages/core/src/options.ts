/**
 * The option names of a factory, tied to its options type: an option added to the type but not
 * to the map does not compile, and neither does a listed name the type lacks.
 *
 * @example
 * ```ts
 * const OPTIONS = { points: true, duration: true } as const satisfies KnownOptions<LimitOptions>
 * ```
 */
export type KnownOptions<T> = { readonly [Name in keyof Required<T>]: true }

/**
 * Refuses an options argument that is not a plain object, and every unknown option name, with a
 * `TypeError` that names it, says what was meant and lists the known names: a mistyped option
 * would otherwise be ignored in silence and leave its check off. What was meant is the entry of
 * `mistakes` (another library's name for an apiward option: `windowMs`, `credentialsRequired`),
 * else the known name nearest to it (letter case ignored, at most a third of its letters off).
 * A nested options object is checked the same way, with `where` naming its path
 * (`'jwt(): jwksOptions'`); `example` shows a call that works when the object is missing.
 *
 * @example
 * ```ts
 * checkOptions<LimitOptions>(options, 'limit()', OPTIONS, { windowMs: 'duration (in seconds)' })
 * ```
 */
export function checkOptions<T extends object>(
  options: unknown,
  where: string,
  known: KnownOptions<T>,
  mistakes: Readonly<Record<string, string>> = {},
  example = '',
): asserts options is T {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object${example === '' ? '' : `, e.g. ${example}`}.`)
  }
  const names = Object.keys(known)
  for (const name of Object.keys(options)) {
    if (Object.hasOwn(known, name)) continue
    const meant = Object.hasOwn(mistakes, name) ? mistakes[name] : closest(name, names)
    throw new TypeError(
      `${where}: unknown option "${name}"${meant === undefined ? '.' : `; did you mean "${meant}"?`} Known options: ${names.join(', ')}.`,
    )
  }
}

/** The known name nearest to a mistyped one, or `undefined` when none is near enough. */
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

/**
 * An optional function option; `shape` shows the expected signature in the message.
 *
 * @example
 * ```ts
 * const skip = functionOption<(ctx: SecurityContext) => boolean>(options.skip, 'skip', 'limit()')
 * ```
 */
export function functionOption<F>(value: unknown, name: string, where: string, shape = ''): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') {
    throw new TypeError(`${where}: ${name} must be a function${shape === '' ? '' : ` ${shape}`}`)
  }
  return value as F
}

/**
 * An optional boolean option, or its default.
 *
 * @example
 * ```ts
 * const required = booleanOption(options.required, 'required', 'apiKey()', true)
 * ```
 */
export function booleanOption(value: unknown, name: string, where: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`${where}: ${name} must be true or false`)
  return value
}

/**
 * The option names of a factory, tied to its options type: an option added to the type but not
 * to the list does not compile, and neither does a listed name the type lacks.
 */
export type KnownOptions<T> = { readonly [Name in keyof Required<T>]: true }

/**
 * Refuses an options argument that is not an object, and every unknown option name, with a
 * `TypeError` naming it, the option meant when the mistake is a known one (`mistakes`) or differs
 * only in letter case (`jwksURI`), and the known names. A mistyped option would otherwise be
 * ignored in silence and leave its check off.
 */
export function checkOptionNames<T extends object>(
  options: unknown,
  where: string,
  known: KnownOptions<T>,
  mistakes: Readonly<Record<string, string>> = {},
  example = '',
): asserts options is T {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options are required${example === '' ? '' : `, e.g. ${example}`}.`)
  }
  const names = Object.keys(known)
  for (const name of Object.keys(options)) {
    if (Object.hasOwn(known, name)) continue
    const meant = mistakes[name] ?? names.find((n) => n.toLowerCase() === name.toLowerCase())
    throw new TypeError(
      `${where}: unknown option "${name}"${meant === undefined ? '.' : `; did you mean "${meant}"?`} Known options: ${names.join(', ')}.`,
    )
  }
}

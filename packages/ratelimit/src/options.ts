/** Checks an options argument and refuses option names of other libraries with the name to use. */
export function checkOptions(
  options: unknown,
  where: string,
  mistakes: Readonly<Record<string, string>>,
): asserts options is object {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object`)
  }
  for (const name in mistakes) {
    if (Object.hasOwn(options, name)) {
      throw new TypeError(`${where}: unknown option '${name}'; use ${mistakes[name]}`)
    }
  }
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

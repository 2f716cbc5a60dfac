import { warnOnce } from '@apiward/core'

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

/**
 * Warns once when a duration in seconds looks like milliseconds: a multiple of 1000 above an
 * hour (`duration: 60000` is a window of 16.7 hours, not a minute).
 */
export function warnIfMilliseconds(seconds: number, name: string, where: string): void {
  if (seconds <= 3600 || seconds % 1000 !== 0) return
  warnOnce(
    'APIWARD_SECONDS_AS_MILLISECONDS',
    `${where}: ${name} is ${seconds} seconds (${(seconds / 3600).toFixed(1)} hours). Durations are in seconds: for ${seconds / 1000} seconds write ${name}: ${seconds / 1000}.`,
    'ratelimit.md#windows',
  )
}

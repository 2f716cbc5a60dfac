import { warnOnce } from '@apiward/core'

/** One hour, in seconds: the point above which a multiple of 1000 reads as milliseconds. */
const HOUR = 3600

/**
 * Warns once when an option in seconds looks like milliseconds: a multiple of 1000 above an
 * hour (`ttl: 30000` is 8.3 hours, not 30 seconds). The value is kept: a long window may be
 * meant, and the warning names how to silence it.
 */
export function warnIfMilliseconds(value: number | undefined, where: string, name: string): void {
  if (value === undefined || value <= HOUR || value % 1000 !== 0) return
  warnOnce(
    'APIWARD_AUTH_SECONDS_AS_MS',
    `${where}: ${name} is in seconds, and ${value} is ${(value / HOUR).toFixed(1)} hours; if you meant ${value / 1000} seconds, write ${value / 1000}.`,
    'auth.md#diagnostics',
  )
}

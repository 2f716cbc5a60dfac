import { randomUUID } from 'node:crypto'

const WELL_FORMED = /^[A-Za-z0-9._-]{1,128}$/

/** The header that carries the request ID in both directions. */
export const REQUEST_ID_HEADER = 'x-request-id'

/**
 * The request ID of a request: the client's `X-Request-Id` when it is well-formed
 * (`^[A-Za-z0-9._-]{1,128}$`, so it cannot inject into logs or headers), a new UUID otherwise.
 *
 * @example
 * ```ts
 * requestIdFrom('abc-123')        // 'abc-123'
 * requestIdFrom('bad\r\nvalue')   // a fresh UUID
 * ```
 */
export function requestIdFrom(incoming: string | readonly string[] | undefined): string {
  const value = typeof incoming === 'string' ? incoming : undefined
  return value !== undefined && WELL_FORMED.test(value) ? value : randomUUID()
}

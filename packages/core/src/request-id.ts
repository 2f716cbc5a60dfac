import { randomUUID } from 'node:crypto'

const WELL_FORMED = /^[A-Za-z0-9._-]{1,128}$/

/**
 * The header that carries the request ID in both directions, in lower case: the adapters write it
 * so, which spares Node a new lower-cased string per response.
 */
export const REQUEST_ID_HEADER = 'x-request-id'

// Request IDs must be unique, not secret: a random per-process prefix (the first 24 characters
// of a v4 UUID, 74 random bits) and a counter in the last 12 digits keep the UUID shape for log
// tooling at a fraction of the cost of a fresh random UUID per request. The counter stays a small
// integer written in decimal (decimal digits are hex digits too): V8's cheapest number-to-string
// path. A new prefix is drawn whenever it wraps.
const COUNTER_SPAN = 1e9
let prefix = randomUUID().slice(0, 24)
let counter = Math.floor(Math.random() * 2 ** 29)

/** A new request ID: UUID-shaped, unique across processes and requests. */
export function newRequestId(): string {
  if (++counter === COUNTER_SPAN) {
    prefix = randomUUID().slice(0, 24)
    counter = 0
  }
  return prefix + String(counter).padStart(12, '0')
}

/**
 * The request ID of a request: the client's `X-Request-Id` when it is well-formed
 * (`^[A-Za-z0-9._-]{1,128}$`, so it cannot inject into logs or headers), a new UUID-shaped ID
 * otherwise.
 *
 * @example
 * ```ts
 * requestIdFrom('abc-123')        // 'abc-123'
 * requestIdFrom('bad\r\nvalue')   // a fresh ID
 * ```
 */
export function requestIdFrom(incoming: string | readonly string[] | undefined): string {
  return typeof incoming === 'string' && WELL_FORMED.test(incoming) ? incoming : newRequestId()
}

import { randomUUID } from 'node:crypto'

const WELL_FORMED = /^[A-Za-z0-9._-]{1,128}$/

/**
 * The header that carries the request ID in both directions, in lower case: the adapters write it
 * so, which spares Node a new lower-cased string per response.
 */
export const REQUEST_ID_HEADER = 'x-request-id'

// Request IDs must be unique, not secret: a random per-process prefix (27 characters of a v4
// UUID, 86 random bits) and a 9-digit counter keep the UUID shape for log tooling at a fraction of
// the cost of a fresh random UUID per request. The counter runs from 100000000 to 999999999, so
// it always has 9 digits (no padding) and stays a small integer, V8's cheapest number-to-string
// path; decimal digits are hex digits too. A new prefix is drawn whenever it wraps.
const FIRST = 100_000_000
const LAST = 999_999_999
let prefix = randomUUID().slice(0, 27)
let counter = FIRST + Math.floor(Math.random() * 2 ** 29)

/** A new request ID: UUID-shaped, unique across processes and requests. */
export function newRequestId(): string {
  if (counter === LAST) {
    prefix = randomUUID().slice(0, 27)
    counter = FIRST
  }
  return prefix + String(++counter)
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

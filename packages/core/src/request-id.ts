const WELL_FORMED = /^[A-Za-z0-9._-]{1,128}$/

/**
 * The header that carries the request ID in both directions, in lower case: the adapters write it
 * so, which spares Node a new lower-cased string per response.
 */
export const REQUEST_ID_HEADER = 'x-request-id'

const ID_LENGTH = 22
const RANDOM_BYTES = 4092 // base64url of it is 5456 characters: 248 IDs per refill
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0))
const poolBytes = new Uint8Array(RANDOM_BYTES)
// The fallback pool is ASCII, so UTF-8 decoding is a copy (`String.fromCharCode.apply` over the
// bytes costs twice as much).
const decoder = new TextDecoder()

interface Base64Encoder {
  from(bytes: ArrayBuffer): { toString(encoding: 'base64url'): string }
}
// Node's and Bun's global Buffer encode base64url natively, about 15 times faster than mapping
// each byte in JavaScript; read from the global, so core still imports no `node:*` module.
const NativeBuffer = (globalThis as { Buffer?: Base64Encoder }).Buffer

let pool = ''
let poolEnd = 0
let poolOffset = 0

/**
 * Refills the pool with fresh random bytes from Web Crypto, as base64url characters: natively
 * where a `Buffer` exists, else each byte's low six bits mapped to a character (256 is a
 * multiple of 64, so they are uniform: no bias either way).
 */
function refillPool(): void {
  crypto.getRandomValues(poolBytes)
  if (NativeBuffer !== undefined) {
    pool = NativeBuffer.from(poolBytes.buffer).toString('base64url')
  } else {
    for (let i = 0; i < RANDOM_BYTES; i++) poolBytes[i] = ALPHABET_CODES[poolBytes[i]! & 63]!
    pool = decoder.decode(poolBytes)
  }
  poolEnd = pool.length - (pool.length % ID_LENGTH)
  poolOffset = 0
}

/**
 * A new request ID: 22 random base64url characters (132 bits from the global Web Crypto
 * `crypto.getRandomValues()`), e.g. `q3Nf0x_Vb8tLc2WmZp1yQa`.
 *
 * IDs are echoed to every client, so they must not tell anything about the server: an ID with a
 * per-process prefix and a counter lets a client count the server's requests between two of its
 * own and tell instances apart. Every character carries six random bits of its own, so one ID
 * tells nothing of another. The random characters come in a pool of a few hundred IDs made at
 * once, and an ID is a slice of that string: measured on Node 20 (callgrind, per ID, a
 * header-value check included), about 1.3k instructions, where `crypto.randomUUID()` costs 5.7k (it serialises sixteen bytes through a
 * lookup table on every call) and the former prefix and counter about 1.2k. Web Crypto also keeps
 * `node:crypto` out of core, which imports no `node:*` module at run time.
 */
export function newRequestId(): string {
  if (poolOffset === poolEnd) refillPool()
  const id = pool.slice(poolOffset, poolOffset + ID_LENGTH)
  poolOffset += ID_LENGTH
  return id
}

/**
 * The request ID of a request: the client's `X-Request-Id` when it is well-formed
 * (`^[A-Za-z0-9._-]{1,128}$`, so it cannot inject into logs or headers), a new random ID
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

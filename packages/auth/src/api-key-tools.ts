import { hash, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

/**
 * Longest API key accepted. Longer input is refused before it is parsed or hashed, so a client
 * cannot make the server hash megabytes. Keys made by {@link generateApiKey} are under 100.
 */
export const MAX_API_KEY_LENGTH = 256

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const PREFIX = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/
const MAX_PREFIX_LENGTH = 32
const KEY_ID = /^[A-Za-z0-9]{1,64}$/
const ID_LENGTH = 12
const SECRET_LENGTH = 32
const MIN_SECRET_LENGTH = 16
const CHECKSUM_LENGTH = 6
const STORED_HASH = /^(?:sha256:)?([0-9a-fA-F]{64})$/

/** The parts of an API key that may be read and logged: nothing secret. */
export interface ParsedApiKey {
  /** The key's prefix, e.g. `ak_live`: says what the key is for and lets secret scanners find it. */
  prefix: string
  /** The key's public identifier: what a lookup finds the stored record by. */
  id: string
}

/** A new API key, from {@link generateApiKey}. */
export interface GeneratedApiKey {
  /** The key to hand to the client, once. Never store it: store `hash`. */
  key: string
  /** The key's public identifier, the index of its record. */
  id: string
  /** The key's prefix. */
  prefix: string
  /** What to store: `sha256:<hex>`, the form `apiKey()` expects in a record's `hash`. */
  hash: string
}

/** Options of {@link generateApiKey}. */
export interface GenerateApiKeyOptions {
  /**
   * The start of the key: lower-case letters and digits in `_`-separated words, at most 32
   * characters, e.g. `ak_live` or `ak_test`. Required: a distinct prefix per environment keeps
   * a test key from working in production and lets secret scanners recognise leaked keys.
   */
  prefix: string
}

function isBase62(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false
  }
  return true
}

/** Uniform base62 characters from the CSPRNG (bytes of 248 and above are dropped, so no bias). */
function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62]
      if (out.length === length) break
    }
  }
  return out
}

/** CRC32 of everything before the checksum, as 6 base62 characters. */
function checksumOf(body: string): string {
  let n = crc32(body)
  let out = ''
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}

/** Whether a string may be used as an API key prefix. */
export function isApiKeyPrefix(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_PREFIX_LENGTH && PREFIX.test(value)
}

/** Whether a string is well-formed as a key id. */
export function isApiKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID.test(value)
}

/** Why a string is not a well-formed API key. */
export type ApiKeyFormatError = 'too_long' | 'malformed' | 'bad_checksum'

/**
 * The prefix and id of a key after its shape and checksum were checked, or why it is not a
 * well-formed key. Whether the key is known is for `apiKey()` to decide.
 */
export function inspectApiKey(key: string): ParsedApiKey | ApiKeyFormatError {
  if (key.length > MAX_API_KEY_LENGTH) return 'too_long'
  const last = key.lastIndexOf('_')
  const before = last > 0 ? key.lastIndexOf('_', last - 1) : -1
  if (before <= 0) return 'malformed'
  const tail = key.slice(last + 1)
  const prefix = key.slice(0, before)
  const id = key.slice(before + 1, last)
  if (
    tail.length < MIN_SECRET_LENGTH + CHECKSUM_LENGTH ||
    !isBase62(tail) ||
    !isApiKeyId(id) ||
    !isApiKeyPrefix(prefix)
  ) {
    return 'malformed'
  }
  const cut = key.length - CHECKSUM_LENGTH
  return checksumOf(key.slice(0, cut)) === key.slice(cut) ? { prefix, id } : 'bad_checksum'
}

/**
 * Reads the prefix and id of an API key, after checking its shape and checksum. Returns
 * `undefined` for anything that is not a well-formed key (a typo, a truncated copy, garbage),
 * without consulting any store.
 *
 * The format is `<prefix>_<id>_<secret><checksum>`: the prefix in lower-case `_`-separated words,
 * the id and the secret in base62 (no `_`, so the key splits unambiguously from the right), and
 * a CRC32 of everything before it as 6 base62 characters.
 *
 * @example
 * ```ts
 * parseApiKey('ak_live_4fT0cWq9ZpLk_...')   // { prefix: 'ak_live', id: '4fT0cWq9ZpLk' }
 * ```
 */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  if (typeof key !== 'string') return undefined
  const parsed = inspectApiKey(key)
  return typeof parsed === 'string' ? undefined : parsed
}

/**
 * Hashes an API key for storage: `sha256:` and the hex SHA-256 digest. Keys from
 * {@link generateApiKey} carry about 190 random bits, so a fast hash is enough: no one can guess
 * a key from its hash, and a slow password hash would only slow down every request.
 *
 * @example
 * ```ts
 * await db.apiKeys.update({ id }, { hash: hashApiKey(key) })
 * ```
 */
export function hashApiKey(key: string): string {
  if (typeof key !== 'string') throw new TypeError('hashApiKey(key): key must be a string')
  return `sha256:${hash('sha256', key, 'hex')}`
}

/** The SHA-256 digest of a presented key, compared with a stored one. */
export function apiKeyDigest(key: string): Buffer {
  return hash('sha256', key, 'buffer')
}

/** The digest of a stored hash (`sha256:<hex>` or bare hex), or `undefined` if it is not one. */
export function storedDigest(stored: unknown): Buffer | undefined {
  if (typeof stored !== 'string') return undefined
  const match = STORED_HASH.exec(stored)
  return match === null ? undefined : Buffer.from(match[1]!, 'hex')
}

/**
 * Makes a new API key from the CSPRNG: a 12-character id and a 32-character secret in base62
 * (about 190 random bits), with a checksum so that `apiKey()` refuses typos without a lookup.
 * Hand `key` to the client once and store `id` and `hash`.
 *
 * @example
 * ```ts
 * const { key, id, hash } = generateApiKey({ prefix: 'ak_live' })
 * await db.apiKeys.insert({ id, hash, owner: 'billing-service', scopes: ['invoices:read'] })
 * ```
 */
export function generateApiKey(options: GenerateApiKeyOptions): GeneratedApiKey {
  const prefix = (options as Partial<GenerateApiKeyOptions> | undefined)?.prefix
  if (!isApiKeyPrefix(prefix)) {
    throw new TypeError(
      `generateApiKey(): prefix must be lower-case letters and digits in '_'-separated words (at most ${MAX_PREFIX_LENGTH} characters), e.g. { prefix: 'ak_live' }; got ${JSON.stringify(prefix)}`,
    )
  }
  const id = randomBase62(ID_LENGTH)
  const body = `${prefix}_${id}_${randomBase62(SECRET_LENGTH)}`
  const key = body + checksumOf(body)
  return { key, id, prefix, hash: hashApiKey(key) }
}

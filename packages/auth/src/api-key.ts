import { timingSafeEqual } from 'node:crypto'
import {
  booleanOption,
  checkOptions,
  defineGuard,
  type KnownOptions,
  type Principal,
  type PrincipalClaims,
  type SecurityContext,
  type SecurityRequest,
} from '@apiward/core'
import { ApiError, BadRequest, ServiceUnavailable, Unauthorized } from '@apiward/errors'
import { apiKeyDigest, inspectApiKey, isApiKeyId, isApiKeyPrefix, storedDigest } from './api-key-tools.js'
import { BoundedMap } from './bounded-map.js'
import { isThenable } from './callback.js'
import type { CredentialGuard } from './credential.js'
import { warnIfMilliseconds } from './seconds.js'

/** Why an API key was refused. Sent to security events, never to the client. */
export type ApiKeyFailureReason =
  | 'too_long'
  | 'malformed'
  | 'bad_checksum'
  | 'unknown_prefix'
  | 'unknown_key'
  | 'wrong_secret'
  | 'disabled'
  | 'expired'

/** What is stored about one API key. Fields a database leaves `null` count as absent. */
export interface ApiKeyRecord {
  /** `hashApiKey(key)`: `sha256:<hex>` (bare hex is accepted too). Never the key itself. */
  hash: string
  /** Who the key belongs to; the principal's `id`. Default: the key's id. */
  owner?: string | null
  /** `service` for a machine client (default), `user` for a personal access key. */
  kind?: 'user' | 'service' | null
  /** Scopes the key grants. Default: none. */
  scopes?: readonly string[] | null
  /** Roles the key grants. Default: none. */
  roles?: readonly string[] | null
  /** Further attributes, exposed as the principal's claims (with `api_key_id` added). */
  claims?: Readonly<PrincipalClaims> | null
  /** When the key stops working: a `Date` or milliseconds since the epoch. Default: never. */
  expiresAt?: Date | number | null
  /** `true` to refuse the key without deleting its record (a revoked or suspended key). */
  disabled?: boolean | null
}

/** One key of a static list: its record and its id (the `id` that `generateApiKey()` returned). */
export interface StaticApiKey extends ApiKeyRecord {
  id: string
}

/**
 * Finds the record of a key by its id, or answers `undefined`/`null` when there is none. It may
 * be synchronous (a `Map`) or asynchronous (a database); a synchronous lookup keeps the guard
 * synchronous. When it throws or rejects (the database is down), the client gets a 503
 * `auth.unavailable` with `Retry-After` and the error goes to the `auth.error` event; an
 * `ApiError` it throws is answered as it is.
 */
export type ApiKeyLookup = (
  id: string,
  ctx: SecurityContext,
) => ApiKeyRecord | null | undefined | PromiseLike<ApiKeyRecord | null | undefined>

/** Options of {@link apiKey}. */
export interface ApiKeyOptions {
  /**
   * The prefix (or prefixes) of the keys this guard accepts, e.g. `'ak_live'`. Required. A key
   * with another prefix is refused before any lookup, so a test key never works in production.
   */
  prefix: string | readonly string[]
  /**
   * A fixed list of keys, for a few machine clients configured at deploy time. Give either
   * `keys` or `lookup`. Checked at startup; a request costs one map read and one SHA-256.
   */
  keys?: readonly StaticApiKey[]
  /**
   * Finds a key's record by its id, for keys kept in a database. Give either `keys` or `lookup`.
   * When it throws or rejects, the request gets a 503 `auth.unavailable`.
   */
  lookup?: ApiKeyLookup
  /** The request header that carries the key. Default `'X-API-Key'`. */
  header?: string
  /**
   * Also accept the key in this query parameter, e.g. `'api_key'`. Default: off. Unsafe: URLs
   * end up in access logs, proxy logs, browser history and `Referer` headers, so a key sent in
   * one should be considered leaked. A key in both the header and the query is a 400.
   */
  dangerouslyAllowQueryParameter?: string
  /**
   * Whether a request without a key is refused (401 `auth.missing_credentials`). Default `true`.
   * With `false` such a request goes on anonymously; a key that is sent must still be valid.
   */
  required?: boolean
  /** The `realm` of the `WWW-Authenticate` challenge. Default: none. */
  realm?: string
  /**
   * Remember what `lookup` answered, by key id, for `ttl` seconds, at most `max` ids (default
   * 1000; at the bound, the first entry the CLOCK hand finds expired or unread since its last pass goes). Default: off. A disabled or deleted key keeps
   * working until its entry expires, so keep `ttl` short; expiry dates are still checked on
   * every request. Unknown ids are remembered too, so a flood of made-up ids reaches the
   * database once per id and `ttl`.
   */
  cache?: { ttl: number; max?: number }
}

interface KeyEntry {
  readonly digest: Buffer
  readonly principal: Principal
  readonly expiresAt: number | undefined
  readonly disabled: boolean
}

const WHERE = 'apiKey()'
const DEFAULT_HEADER = 'X-API-Key'
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const QUERY_NAME = /^[A-Za-z0-9_.-]{1,64}$/
const OPTIONS: KnownOptions<ApiKeyOptions> = {
  prefix: true,
  keys: true,
  lookup: true,
  header: true,
  dangerouslyAllowQueryParameter: true,
  required: true,
  realm: true,
  cache: true,
}
const CACHE_OPTIONS: KnownOptions<NonNullable<ApiKeyOptions['cache']>> = { ttl: true, max: true }
const MISTAKES: Readonly<Record<string, string>> = {
  headerName: 'header',
  keyHeader: 'header',
  query: 'dangerouslyAllowQueryParameter',
  queryParameter: 'dangerouslyAllowQueryParameter',
  allowQuery: 'dangerouslyAllowQueryParameter',
  optional: 'required: false',
  prefixes: 'prefix (a string or an array)',
  validate: 'lookup',
  apiKeys: 'keys',
}

function absent(value: unknown): value is null | undefined {
  return value === undefined || value === null
}

function stringList(value: unknown, name: string, where: string): readonly string[] {
  if (absent(value)) return Object.freeze([])
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) {
    throw new TypeError(`${where}: ${name} must be an array of strings, e.g. ['notes:read']`)
  }
  return Object.freeze([...value])
}

/** Checks a record and builds what a request needs of it: its digest and its principal. */
function toEntry(record: unknown, id: string, where: string): KeyEntry {
  if (typeof record !== 'object' || record === null) throw new TypeError(`${where} must be an object`)
  const r = record as Record<string, unknown>
  const digest = storedDigest(r.hash)
  if (digest === undefined) {
    throw new TypeError(
      typeof r.hash === 'string' && typeof inspectApiKey(r.hash) === 'object'
        ? `${where}: hash holds an API key; store hashApiKey(key) instead, never the key itself`
        : `${where}: hash must be hashApiKey(key), 'sha256:' and 64 hex digits`,
    )
  }
  if (!absent(r.owner) && (typeof r.owner !== 'string' || r.owner === '')) {
    throw new TypeError(`${where}: owner must be a non-empty string (the principal's id)`)
  }
  if (!absent(r.kind) && r.kind !== 'user' && r.kind !== 'service') {
    throw new TypeError(`${where}: kind must be 'user' or 'service'`)
  }
  if (!absent(r.claims) && (typeof r.claims !== 'object' || Array.isArray(r.claims))) {
    throw new TypeError(`${where}: claims must be an object`)
  }
  let expiresAt: number | undefined
  if (r.expiresAt instanceof Date) expiresAt = r.expiresAt.getTime()
  else if (typeof r.expiresAt === 'number') expiresAt = r.expiresAt
  else if (!absent(r.expiresAt)) expiresAt = Number.NaN
  if (expiresAt !== undefined && !Number.isFinite(expiresAt)) {
    throw new TypeError(`${where}: expiresAt must be a valid Date or milliseconds since the epoch`)
  }
  if (!absent(r.disabled) && typeof r.disabled !== 'boolean') {
    throw new TypeError(`${where}: disabled must be true or false`)
  }
  const principal: Principal = Object.freeze({
    id: absent(r.owner) ? id : (r.owner as string),
    kind: absent(r.kind) ? 'service' : (r.kind as 'user' | 'service'),
    scopes: stringList(r.scopes, 'scopes', where),
    roles: stringList(r.roles, 'roles', where),
    claims: Object.freeze({ ...(r.claims as PrincipalClaims | undefined), api_key_id: id }),
    credential: 'api_key',
  })
  return { digest, principal, expiresAt, disabled: r.disabled === true }
}

/** The records `lookup` answered, by key id, for a while; `null` remembers an unknown id. */
class RecordCache {
  readonly #entries: BoundedMap<string, KeyEntry | null>
  readonly #ttlMs: number

  constructor(ttlSeconds: number, max: number) {
    this.#ttlMs = ttlSeconds * 1000
    this.#entries = new BoundedMap(max)
  }

  get(id: string): KeyEntry | null | undefined {
    return this.#entries.get(id)
  }

  set(id: string, entry: KeyEntry | null): void {
    this.#entries.set(id, entry, Date.now() + this.#ttlMs)
  }
}

function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${WHERE}: ${name} must be an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

function cacheOption(value: unknown, hasLookup: boolean): RecordCache | undefined {
  if (value === undefined) return undefined
  if (!hasLookup) throw new TypeError(`${WHERE}: cache only applies to lookup; static keys need none`)
  checkOptions<{ ttl?: unknown; max?: unknown }>(value, `${WHERE}: cache`, CACHE_OPTIONS, {}, '{ ttl: 30 }')
  const { ttl, max } = value
  warnIfMilliseconds(ttl as number | undefined, WHERE, 'cache.ttl')
  return new RecordCache(
    integerIn(ttl, 'cache.ttl (seconds)', 1, 86_400),
    max === undefined ? 1000 : integerIn(max, 'cache.max', 1, 1_000_000),
  )
}

function prefixOption(value: unknown): ReadonlySet<string> {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || !list.every(isApiKeyPrefix)) {
    throw new TypeError(
      `${WHERE}: prefix must be the prefix of your keys (lower-case letters and digits in '_'-separated words), or an array of them, e.g. { prefix: 'ak_live' }; got ${JSON.stringify(value)}`,
    )
  }
  return new Set(list)
}

function headerOption(value: unknown): string {
  if (value === undefined) return DEFAULT_HEADER
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new TypeError(
      `${WHERE}: header must be a header name such as 'X-API-Key', got ${JSON.stringify(value)}`,
    )
  }
  const lower = value.toLowerCase()
  if (lower === 'authorization' || lower === 'cookie' || lower === 'proxy-authorization') {
    throw new TypeError(
      `${WHERE}: header '${value}' carries other credentials; use a header of its own such as 'X-API-Key'`,
    )
  }
  return value
}

function staticEntries(keys: unknown): ReadonlyMap<string, KeyEntry> {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new TypeError(`${WHERE}: keys must be a non-empty array of { id, hash, ... }`)
  }
  const entries = new Map<string, KeyEntry>()
  keys.forEach((key: unknown, i) => {
    const where = `${WHERE}: keys[${i}]`
    const id = (key as { id?: unknown } | null)?.id
    if (!isApiKeyId(id)) {
      throw new TypeError(
        `${where}.id must be the key's id from generateApiKey() (1 to 64 letters or digits)`,
      )
    }
    if (entries.has(id)) throw new TypeError(`${where}.id '${id}' is listed twice`)
    entries.set(id, toEntry(key, id, where))
  })
  return entries
}

/**
 * Authenticates machine clients by API key, sent in the `X-API-Key` header. Keys have the form
 * `<prefix>_<id>_<secret><checksum>` (see `generateApiKey()`): the checksum rejects typos and
 * garbage without a lookup, the id finds the record in one read, and the SHA-256 of the whole
 * key is compared with the stored hash in constant time.
 *
 * The principal is `{ id: owner, kind: 'service', scopes, roles, claims, credential: 'api_key' }`.
 * Every wrong key (unknown, wrong secret, malformed, expired, disabled...) gets the same 401
 * `auth.invalid_api_key`; the reason goes only to the `auth.failure` security event. A missing
 * key is a 401 `auth.missing_credentials`. Two keys in one request are a 400
 * `auth.invalid_request`. A `lookup` that throws or rejects is a 503 `auth.unavailable` with
 * `Retry-After: 1` (the error is kept as the `cause` and sent to the `auth.error` event, never
 * to the client, and never cached).
 *
 * @example
 * ```ts
 * const apiKeys = apiKey({ prefix: 'ak_live', lookup: (id) => db.apiKeys.findById(id) })
 * app.get('/invoices', guard(apiKeys, scopes('invoices:read')), listInvoices)
 * ```
 */
export function apiKey(options: ApiKeyOptions): CredentialGuard {
  checkOptions<ApiKeyOptions>(options, WHERE, OPTIONS, MISTAKES, "{ prefix: 'ak_live', lookup }")
  const prefixes = prefixOption(options.prefix)
  const hasKeys = options.keys !== undefined
  const lookup = options.lookup
  if (hasKeys === (lookup !== undefined)) {
    throw new TypeError(
      `${WHERE}: give exactly one of keys (a static list of { id, hash }) or lookup (a function finding a record by key id)`,
    )
  }
  if (lookup !== undefined && typeof lookup !== 'function') {
    throw new TypeError(`${WHERE}: lookup must be a function (id, ctx) => record, or a promise of one`)
  }
  const entries = hasKeys ? staticEntries(options.keys) : undefined
  const cache = cacheOption(options.cache, lookup !== undefined)
  const header = headerOption(options.header)
  const headerKey = header.toLowerCase()
  const queryName = options.dangerouslyAllowQueryParameter
  if (queryName !== undefined && (typeof queryName !== 'string' || !QUERY_NAME.test(queryName))) {
    throw new TypeError(
      `${WHERE}: dangerouslyAllowQueryParameter must be the name of the query parameter, e.g. 'api_key'`,
    )
  }
  const required = booleanOption(options.required, 'required', WHERE, true)
  const realm = options.realm
  if (realm !== undefined && (typeof realm !== 'string' || !/^[\x20-\x7e]*$/.test(realm))) {
    throw new TypeError(`${WHERE}: realm must be a string of printable ASCII characters`)
  }

  const quote = (value: string) => `"${value.replace(/[\\"]/g, '\\$&')}"`
  const challenge = `ApiKey ${realm === undefined ? '' : `realm=${quote(realm)}, `}header=${quote(header)}`
  const challengeHeaders = Object.freeze({ 'WWW-Authenticate': challenge })
  const missingDetail = `An API key is required in the ${header} header.`
  const oneHeader = `Send exactly one ${header} header.`
  const onePlace = `Send the API key in the ${header} header only.`

  const refuse = (ctx: SecurityContext, reason: ApiKeyFailureReason, id?: string, prefix?: string): never => {
    ctx.emit('auth.failure', {
      severity: 'warn',
      code: 'auth.invalid_api_key',
      reason,
      credential: 'api_key',
      keyId: id,
      keyPrefix: prefix,
    })
    throw new Unauthorized({
      code: 'auth.invalid_api_key',
      detail: 'The API key is invalid.',
      headers: challengeHeaders,
    })
  }

  const settle = (ctx: SecurityContext, id: string, entry: KeyEntry | null | undefined, digest: Buffer) => {
    if (entry == null) return refuse(ctx, 'unknown_key', id)
    if (!timingSafeEqual(entry.digest, digest)) return refuse(ctx, 'wrong_secret', id)
    if (entry.disabled) return refuse(ctx, 'disabled', id)
    if (entry.expiresAt !== undefined && Date.now() >= entry.expiresAt) return refuse(ctx, 'expired', id)
    ctx.principal = entry.principal
    ctx.emit('auth.success', { severity: 'info', credential: 'api_key', keyId: id })
  }

  /** The lookup failed: a 503 for the client, the error for the operator, nothing cached. */
  const unavailable = (ctx: SecurityContext, err: unknown, id: string, prefix: string): never => {
    if (ApiError.is(err)) throw err
    ctx.emit('auth.error', {
      severity: 'error',
      code: 'auth.unavailable',
      credential: 'api_key',
      keyId: id,
      keyPrefix: prefix,
      detail: err instanceof Error ? err.message : String(err),
      error: err,
    })
    throw new ServiceUnavailable({
      code: 'auth.unavailable',
      detail: 'The API key cannot be checked right now. Retry later.',
      retryAfter: 1,
      cause: err,
    })
  }

  const remember = (id: string, record: unknown): KeyEntry | null => {
    const entry = absent(record)
      ? null
      : toEntry(record, id, `${WHERE}: the record lookup returned for '${id}'`)
    cache?.set(id, entry)
    return entry
  }

  const readKey = (req: SecurityRequest): string | undefined => {
    const values = req.headerValues(headerKey)
    let key: string | undefined
    if (values !== undefined && values.length > 0) {
      if (values.length > 1) throw new BadRequest({ code: 'auth.invalid_request', detail: oneHeader })
      key = values[0]!
    }
    if (queryName !== undefined) {
      const query = req.query
      if (query != null && Object.hasOwn(query, queryName)) {
        const value = query[queryName]
        if (key !== undefined || typeof value !== 'string') {
          throw new BadRequest({ code: 'auth.invalid_request', detail: onePlace })
        }
        key = value
      }
    }
    return key
  }

  const check = (ctx: SecurityContext): void | PromiseLike<void> => {
    const key = readKey(ctx.req)
    if (key === undefined) {
      if (!required) return
      ctx.emit('auth.failure', { severity: 'info', code: 'auth.missing_credentials', credential: 'api_key' })
      throw new Unauthorized({
        code: 'auth.missing_credentials',
        detail: missingDetail,
        headers: challengeHeaders,
      })
    }
    const parsed = inspectApiKey(key)
    if (typeof parsed === 'string') return refuse(ctx, parsed)
    const { id, prefix } = parsed
    if (!prefixes.has(prefix)) return refuse(ctx, 'unknown_prefix', id, prefix)
    const digest = apiKeyDigest(key)
    if (entries !== undefined) return settle(ctx, id, entries.get(id), digest)
    const cached = cache?.get(id)
    if (cached !== undefined) return settle(ctx, id, cached, digest)
    let found: ReturnType<ApiKeyLookup>
    try {
      found = lookup!(id, ctx)
    } catch (err) {
      return unavailable(ctx, err, id, prefix)
    }
    if (isThenable<ApiKeyRecord | null | undefined>(found)) {
      // Adopted into a real promise: a bare thenable's `then` may return nothing, which would read
      // as "allowed" before the record is even checked.
      return Promise.resolve(found).then(
        (record) => settle(ctx, id, remember(id, record), digest),
        (err: unknown) => unavailable(ctx, err, id, prefix),
      )
    }
    return settle(ctx, id, remember(id, found), digest)
  }

  const hasCredential = (req: SecurityRequest): boolean =>
    req.header(headerKey) !== undefined ||
    (queryName !== undefined && req.query != null && Object.hasOwn(req.query, queryName))

  return Object.assign(
    defineGuard(check, { guardName: 'apiKey', needsBody: false, kind: 'authentication' }),
    {
      hasCredential,
      challenge,
    },
  )
}

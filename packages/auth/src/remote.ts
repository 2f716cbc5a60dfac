import {
  checkOptions,
  type KnownOptions,
  type SecurityEvent,
  type SecurityEventBus,
  warnOnce,
} from '@apiward/core'
import type { AuthEventType } from './events.js'

/**
 * How a document of the authorization server (its metadata, its JWK Set) is fetched and cached.
 * The same rules hold for each: a timeout, a streaming size cap, no redirects, `https:` outside
 * loopback, a cooldown between fetches, and the last good copy served while the server is down.
 */
export interface RemoteJwksOptions {
  /**
   * Milliseconds a fetch may take before it is abandoned. Default `3000`: a slow endpoint
   * delays only the requests that need a document not yet cached, and never by more than this.
   */
  timeoutMs?: number
  /**
   * Minimum milliseconds between two fetches caused by unknown `kid`s. Default `30000`: a flood
   * of tokens with random `kid`s costs the endpoint at most one request per cooldown.
   */
  cooldownMs?: number
  /**
   * Milliseconds after which a cached document is refreshed in the background. Default
   * `600000` (10 minutes). The cached copy keeps serving while a refresh fails. It takes
   * effect only down to `cooldownMs`, which spaces every fetch: a shorter value warns once at
   * startup (`APIWARD_AUTH_MAX_AGE_BELOW_COOLDOWN`).
   */
  maxAgeMs?: number
  /**
   * Largest document accepted, in bytes. Default `262144`. Bytes are counted as they arrive and
   * the connection is dropped at the limit, so an endpoint that streams without end costs this
   * much memory, not the size of its answer.
   */
  maxBytes?: number
  /** Extra request headers (an API gateway key, say). */
  headers?: Record<string, string>
}

/** {@link RemoteJwksOptions} with every default applied. */
export type RemoteSettings = Required<RemoteJwksOptions>

export const DEFAULT_REMOTE = {
  timeoutMs: 3000,
  cooldownMs: 30_000,
  maxAgeMs: 600_000,
  maxBytes: 262_144,
} as const satisfies RemoteJwksOptions

const REMOTE_OPTIONS: KnownOptions<RemoteJwksOptions> = {
  timeoutMs: true,
  cooldownMs: true,
  maxAgeMs: true,
  maxBytes: true,
  headers: true,
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** The settings of `options` over the defaults, each checked: a `TypeError` names the bad one. */
export function remoteSettings(options: RemoteJwksOptions | undefined, where: string): RemoteSettings {
  if (options !== undefined) checkOptions<RemoteJwksOptions>(options, where, REMOTE_OPTIONS)
  const settings = { ...DEFAULT_REMOTE, headers: {}, ...options }
  for (const name of ['timeoutMs', 'cooldownMs', 'maxAgeMs', 'maxBytes'] as const) {
    const value = settings[name]
    if (!Number.isInteger(value) || value < (name === 'cooldownMs' ? 0 : 1)) {
      throw new TypeError(`${where}.${name} is a positive integer (default ${DEFAULT_REMOTE[name]}).`)
    }
  }
  if (settings.maxAgeMs < settings.cooldownMs) {
    warnOnce(
      'APIWARD_AUTH_MAX_AGE_BELOW_COOLDOWN',
      `${where}.maxAgeMs (${settings.maxAgeMs}) is below cooldownMs (${settings.cooldownMs}): a document is fetched at most once per cooldown, so it is refreshed every ${settings.cooldownMs} ms, not every ${settings.maxAgeMs} ms. Raise maxAgeMs to at least cooldownMs, or lower cooldownMs.`,
      'auth.md#diagnostics',
    )
  }
  const { headers } = settings
  if (
    headers === null ||
    typeof headers !== 'object' ||
    Object.values(headers).some((v) => typeof v !== 'string')
  ) {
    throw new TypeError(`${where}.headers maps header names to string values.`)
  }
  return settings
}

/** Whether a URL names this machine, where plain HTTP cannot be intercepted on the network. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK.has(url.hostname)
}

/** Whether plain HTTP is allowed off loopback, and the `dangerously*` option that says so. */
export interface HttpPolicy {
  readonly allowed: boolean
  readonly option: string
}

/**
 * Checks, at build time, a URL the guard will fetch: absolute, `https:`, or plain HTTP on
 * loopback only (or when the caller's `dangerously*` option says so).
 */
export function checkRemoteUrl(value: unknown, where: string, name: string, http: HttpPolicy): URL {
  let url: URL
  try {
    url = new URL(value as string)
  } catch {
    throw new TypeError(`${where}: ${name} ${JSON.stringify(String(value))} is not an absolute URL.`)
  }
  const reason = remoteUrlProblem(url, http.allowed)
  if (reason === undefined) return url
  throw new TypeError(
    `${where}: ${name} ${reason}; what is fetched over plain HTTP can be replaced on the way. Plain HTTP is accepted on loopback only, or with ${http.option}.`,
  )
}

/** Why a URL may not be fetched (`undefined` when it may), for URLs read from a document. */
export function remoteUrlProblem(url: URL, allowHttp: boolean): string | undefined {
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:' && (allowHttp || isLoopback(url))) return undefined
  return `must use https: (got ${url.protocol}//${url.host})`
}

/** Why a fetch failed, for events: never a token or a secret. */
export type RemoteFailure = 'timeout' | 'unreachable' | 'too_large' | 'status' | 'malformed'

/** A failed fetch of a remote document, with a reason to report. */
export class RemoteError extends Error {
  constructor(
    readonly reason: RemoteFailure,
    message: string,
  ) {
    super(message)
    this.name = 'RemoteError'
  }
}

/** What a bounded fetch received. */
export interface RemoteAnswer {
  readonly status: number
  /** The media type, lower case and without parameters (`application/json`). */
  readonly contentType: string
  readonly text: string
}

/** One request of a bounded fetch. */
export interface RemoteRequest {
  readonly method?: 'GET' | 'POST'
  readonly headers: Record<string, string>
  readonly body?: string
  readonly timeoutMs: number
  readonly maxBytes: number
}

/**
 * The body as text, read chunk by chunk and counted in bytes: past `maxBytes` it throws at once
 * instead of reading on (the caller then drops the connection). A chunked answer declares no
 * length, so only counting while reading bounds it.
 */
async function readAtMost(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new RemoteError('too_large', `document is over maxBytes (${maxBytes} bytes)`)
    chunks.push(chunk)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/**
 * Fetches a URL with the rules every remote document obeys: redirects refused, the whole
 * exchange (body included) bounded by `timeoutMs`, the body cut off at `maxBytes` while it
 * streams. Any status is returned; a network failure, a timeout or an oversized body throws a
 * {@link RemoteError}.
 */
export async function fetchBounded(url: URL, request: RemoteRequest): Promise<RemoteAnswer> {
  // Aborting drops the connection: the rest of an unwanted body is never received.
  const drop = new AbortController()
  try {
    const response = await fetch(url, {
      method: request.method ?? 'GET',
      headers: request.headers,
      body: request.body,
      redirect: 'error',
      signal: AbortSignal.any([drop.signal, AbortSignal.timeout(request.timeoutMs)]),
    })
    const declared = Number(response.headers.get('content-length'))
    if (declared > request.maxBytes) {
      throw new RemoteError('too_large', `document of ${declared} bytes is over maxBytes`)
    }
    const text = await readAtMost(response, request.maxBytes)
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    return { status: response.status, contentType, text }
  } catch (err) {
    drop.abort()
    if (err instanceof RemoteError) throw err
    if (err instanceof Error && err.name === 'TimeoutError') {
      throw new RemoteError('timeout', `no answer within ${request.timeoutMs} ms`)
    }
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : ''
    throw new RemoteError('unreachable', `${err instanceof Error ? err.message : String(err)}${cause}`)
  }
}

/** The JSON object of a 200 answer; anything else is a {@link RemoteError}. */
export function jsonObjectOf(answer: RemoteAnswer): Record<string, unknown> {
  if (answer.status !== 200) throw new RemoteError('status', `answered ${answer.status}`)
  let value: unknown
  try {
    value = JSON.parse(answer.text)
  } catch {
    throw new RemoteError('malformed', 'answer is not JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RemoteError('malformed', 'answer is not a JSON object')
  }
  return value as Record<string, unknown>
}

/** A failure as one line for an event: `RemoteError: answered 503`. */
export function describeFailure(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

/** The events of remote documents (declared in `AuthEventMap`). */
export type RemoteEventType = Extract<AuthEventType, `${'jwks' | 'discovery'}.${string}`>

/** What a remote document reports when it is refreshed or a refresh fails. */
export type RemoteReport = (type: RemoteEventType, fields: Record<string, unknown>) => void

/** The reporter of a guard's background events: `bus.report`, `warn` for failures. */
export function backgroundReport(bus: SecurityEventBus): RemoteReport {
  // The fields are built by each DocumentSource for its own event types, which AuthEventMap declares.
  const report = bus.report as (
    this: SecurityEventBus,
    type: RemoteEventType,
    fields: Partial<SecurityEvent>,
  ) => void
  return (type, fields) =>
    report.call(bus, type, { severity: type.endsWith('_failed') ? 'warn' : 'info', ...fields })
}

/** How one remote document is loaded and named in events. */
export interface DocumentSource<T> {
  /** Fetches and checks the document; throws when it is unusable. Returns the fields of its event. */
  load(settings: RemoteSettings): Promise<{ value: T; fields: Record<string, unknown> }>
  /** Event types, e.g. `jwks.refreshed` and `jwks.refresh_failed`. */
  readonly events: { readonly refreshed: RemoteEventType; readonly failed: RemoteEventType }
  /** Fields added to a failure event, from the copy still serving (`undefined` when none). */
  failureFields(serving: T | undefined): Record<string, unknown>
}

/**
 * A remote document kept fresh: fetched on first use, refreshed in the background when older
 * than `maxAgeMs`, one fetch at a time (concurrent callers join it). A failed or garbage answer
 * never replaces the copy that works. Callers decide when a refetch is wanted (an unknown
 * `kid`) and use {@link mayFetch} to keep to the cooldown.
 */
export class RemoteDocument<T> {
  readonly settings: RemoteSettings
  readonly #source: DocumentSource<T>
  readonly #report: RemoteReport
  #value: T | undefined
  #fetchedAt = Number.NEGATIVE_INFINITY
  #attemptedAt = Number.NEGATIVE_INFINITY
  #pending: Promise<void> | undefined
  #lastFailure: string | undefined

  constructor(source: DocumentSource<T>, settings: RemoteSettings, report: RemoteReport) {
    this.#source = source
    this.settings = settings
    this.#report = report
  }

  /** Whether the document was ever fetched successfully. */
  get loaded(): boolean {
    return this.#fetchedAt !== Number.NEGATIVE_INFINITY
  }

  /** The copy in use, `undefined` until a fetch succeeded. */
  get value(): T | undefined {
    return this.#value
  }

  /** Why the last fetch failed, `undefined` when it succeeded. */
  get lastFailure(): string | undefined {
    return this.#lastFailure
  }

  /** Whether a fetch is under way. */
  get fetching(): boolean {
    return this.#pending !== undefined
  }

  /** Whether the cooldown since the last attempt has passed. */
  mayFetch(now: number): boolean {
    return now - this.#attemptedAt >= this.settings.cooldownMs
  }

  /**
   * The document in use: after a first fetch when there is none yet (a promise then), else the
   * cached copy at once, refreshed in the background when it is old and the cooldown allows.
   */
  current(): T | Promise<T | undefined> {
    const value = this.#value
    if (value === undefined) return this.refresh().then(() => this.#value)
    const now = Date.now()
    if (now - this.#fetchedAt > this.settings.maxAgeMs && this.mayFetch(now)) void this.refresh()
    return value
  }

  /** Fetches now unless a fetch is under way (then joins it). Never rejects. */
  refresh(): Promise<void> {
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  async #fetch(): Promise<void> {
    this.#attemptedAt = Date.now()
    const started = performance.now()
    try {
      const { value, fields } = await this.#source.load(this.settings)
      this.#value = value
      this.#fetchedAt = Date.now()
      this.#lastFailure = undefined
      this.#report(this.#source.events.refreshed, { ...fields, durationMs: performance.now() - started })
    } catch (err) {
      this.#lastFailure = describeFailure(err)
      this.#report(this.#source.events.failed, {
        reason: this.#lastFailure,
        durationMs: performance.now() - started,
        ...this.#source.failureFields(this.#value),
      })
    }
  }
}

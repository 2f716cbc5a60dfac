import type { JwtAlgorithm } from './algorithms.js'
import { ASYMMETRIC_ALGORITHMS } from './algorithms.js'
import { type KeySource, keysOfJwks, selectKeys, type VerificationKey } from './key-source.js'

/** How a remote JWKS is fetched and cached. */
export interface RemoteJwksOptions {
  /**
   * Milliseconds a fetch may take before it is abandoned. Default `3000`: a slow endpoint
   * delays only the requests that need a key not yet cached, and never by more than this.
   */
  timeoutMs?: number
  /**
   * Minimum milliseconds between two fetches caused by unknown `kid`s. Default `30000`: a flood
   * of tokens with random `kid`s costs the endpoint at most one request per cooldown.
   */
  cooldownMs?: number
  /**
   * Milliseconds after which the cached keys are refreshed in the background. Default
   * `600000` (10 minutes). Cached keys keep serving while a refresh fails.
   */
  maxAgeMs?: number
  /**
   * Largest JWKS document accepted, in bytes. Default `262144`. Bytes are counted as they
   * arrive and the connection is dropped at the limit, so an endpoint that streams without end
   * costs this much memory, not the size of its answer.
   */
  maxBytes?: number
  /** Extra request headers (an API gateway key, say). */
  headers?: Record<string, string>
}

/** What a remote JWKS reports, so `jwt()` can emit security events. */
export type JwksReport = (
  type: 'jwks.refreshed' | 'jwks.refresh_failed',
  fields: Record<string, unknown>,
) => void

export const DEFAULT_REMOTE_JWKS = {
  timeoutMs: 3000,
  cooldownMs: 30_000,
  maxAgeMs: 600_000,
  maxBytes: 262_144,
} as const satisfies RemoteJwksOptions

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Checks a `jwksUri` at build time: HTTPS, or plain HTTP on loopback only. */
export function checkJwksUri(value: string | URL, allowHttp: boolean): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(`jwt(): jwksUri ${JSON.stringify(String(value))} is not an absolute URL.`)
  }
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && (allowHttp || LOOPBACK.has(url.hostname))) return url
  throw new TypeError(
    `jwt(): jwksUri must use https: (got ${url.protocol}//${url.host}); keys fetched over plain HTTP can be replaced on the way. Plain HTTP is accepted on loopback only, or with dangerouslyAllowHttpJwks.`,
  )
}

/**
 * The body of a response as text, read chunk by chunk and counted in bytes: past `maxBytes` it
 * throws at once instead of reading on (the caller then drops the connection). A chunked
 * answer declares no length, so only counting while reading bounds it.
 */
async function readAtMost(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new Error(`document is over maxBytes (${maxBytes} bytes)`)
    chunks.push(chunk)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/**
 * The keys of a remote JWK Set: fetched on first use, cached, refreshed in the background when
 * old, refetched on an unknown `kid` at most once per cooldown, one fetch at a time, each
 * bounded by a timeout. A failed or garbage answer never replaces the keys that work.
 */
export class RemoteJwks implements KeySource {
  readonly algorithms: readonly JwtAlgorithm[] = ASYMMETRIC_ALGORITHMS
  readonly #url: URL
  readonly #options: Required<Omit<RemoteJwksOptions, 'headers'>> & { headers: Record<string, string> }
  readonly #report: JwksReport
  #keys: readonly VerificationKey[] = []
  #fetchedAt = Number.NEGATIVE_INFINITY
  #attemptedAt = Number.NEGATIVE_INFINITY
  #pending: Promise<void> | undefined

  constructor(url: URL, options: RemoteJwksOptions, report: JwksReport) {
    this.#url = url
    this.#options = { ...DEFAULT_REMOTE_JWKS, headers: {}, ...options }
    this.#report = report
  }

  /** Whether keys were ever fetched successfully. */
  get loaded(): boolean {
    return this.#fetchedAt !== Number.NEGATIVE_INFINITY
  }

  candidates(
    alg: JwtAlgorithm,
    kid: string | undefined,
  ): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    if (!this.loaded) return this.refresh().then(() => selectKeys(this.#keys, alg, kid, true))
    const now = Date.now()
    const mayFetch = now - this.#attemptedAt >= this.#options.cooldownMs
    const found = selectKeys(this.#keys, alg, kid, true)
    if (found.length > 0) {
      if (mayFetch && now - this.#fetchedAt > this.#options.maxAgeMs) void this.refresh()
      return found
    }
    if (this.#pending === undefined && !mayFetch) return found
    return this.refresh().then(() => selectKeys(this.#keys, alg, kid, true))
  }

  /** Fetches the set now unless a fetch is under way (then joins it). Never rejects. */
  refresh(): Promise<void> {
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  async #fetch(): Promise<void> {
    this.#attemptedAt = Date.now()
    const started = performance.now()
    // Aborting drops the connection: the rest of an unwanted body is never received.
    const drop = new AbortController()
    try {
      const response = await fetch(this.#url, {
        headers: { accept: 'application/jwk-set+json, application/json', ...this.#options.headers },
        redirect: 'error',
        signal: AbortSignal.any([drop.signal, AbortSignal.timeout(this.#options.timeoutMs)]),
      })
      if (response.status !== 200) throw new Error(`answered ${response.status}`)
      const declared = Number(response.headers.get('content-length'))
      if (declared > this.#options.maxBytes) throw new Error(`document of ${declared} bytes is over maxBytes`)
      const text = await readAtMost(response, this.#options.maxBytes)
      const keys = keysOfJwks(JSON.parse(text))
      if (keys.length === 0) throw new Error('document has no usable verification key')
      this.#keys = keys
      this.#fetchedAt = Date.now()
      this.#report('jwks.refreshed', { keys: keys.length, durationMs: performance.now() - started })
    } catch (err) {
      drop.abort()
      this.#report('jwks.refresh_failed', {
        reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        durationMs: performance.now() - started,
        servingCachedKeys: this.#keys.length,
      })
    }
  }
}

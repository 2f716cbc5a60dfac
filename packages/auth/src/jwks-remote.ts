import type { JwtAlgorithm } from './algorithms.js'
import { ASYMMETRIC_ALGORITHMS } from './algorithms.js'
import { type KeySource, keysOfJwks, selectKeys, type VerificationKey } from './key-source.js'
import {
  type DocumentSource,
  fetchBounded,
  jsonObjectOf,
  RemoteDocument,
  RemoteError,
  type RemoteReport,
  type RemoteSettings,
} from './remote.js'

/** How a JWK Set is fetched, checked and reported. */
function jwksDocument(url: URL): DocumentSource<readonly VerificationKey[]> {
  return {
    async load(settings) {
      const answer = await fetchBounded(url, {
        headers: { accept: 'application/jwk-set+json, application/json', ...settings.headers },
        timeoutMs: settings.timeoutMs,
        maxBytes: settings.maxBytes,
      })
      const keys = keysOfJwks(jsonObjectOf(answer))
      if (keys.length === 0) throw new RemoteError('malformed', 'document has no usable verification key')
      return { value: keys, fields: { keys: keys.length } }
    },
    events: { refreshed: 'jwks.refreshed', failed: 'jwks.refresh_failed' },
    failureFields: (serving) => ({ servingCachedKeys: serving?.length ?? 0 }),
  }
}

/**
 * The keys of a remote JWK Set: fetched on first use, cached, refreshed in the background when
 * old, refetched on an unknown `kid` at most once per cooldown, one fetch at a time, each
 * bounded by a timeout. A failed or garbage answer never replaces the keys that work.
 */
export class RemoteJwks implements KeySource {
  readonly algorithms: readonly JwtAlgorithm[] = ASYMMETRIC_ALGORITHMS
  readonly url: URL
  readonly #document: RemoteDocument<readonly VerificationKey[]>

  constructor(url: URL, settings: RemoteSettings, report: RemoteReport) {
    this.url = url
    this.#document = new RemoteDocument(jwksDocument(url), settings, report)
  }

  /** Whether keys were ever fetched successfully. */
  get loaded(): boolean {
    return this.#document.loaded
  }

  /** Why the last fetch failed, `undefined` when it succeeded. */
  get lastFailure(): string | undefined {
    return this.#document.lastFailure
  }

  describe(): { location: string; lastFailure: string | undefined } {
    return { location: this.url.href, lastFailure: this.#document.lastFailure }
  }

  candidates(
    alg: JwtAlgorithm,
    kid: string | undefined,
  ): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    const document = this.#document
    const keys = document.current()
    if (!Array.isArray(keys)) {
      return (keys as Promise<readonly VerificationKey[] | undefined>).then((loaded) =>
        selectKeys(loaded ?? [], alg, kid, true),
      )
    }
    const found = selectKeys(keys, alg, kid, true)
    if (found.length > 0 || (!document.fetching && !document.mayFetch(Date.now()))) return found
    return document.refresh().then(() => selectKeys(document.value ?? [], alg, kid, true))
  }

  /** Fetches the set unless it is loaded; resolves once keys are there, else rejects with why not. */
  async ready(): Promise<void> {
    if (!this.#document.loaded) await this.#document.refresh()
    if (!this.#document.loaded) {
      throw new Error(`the JWK Set at ${this.url.href} could not be loaded: ${this.#document.lastFailure}`)
    }
  }
}

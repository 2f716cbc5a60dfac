import { ASYMMETRIC_ALGORITHMS, type JwtAlgorithm } from './algorithms.js'
import { isThenable } from './callback.js'
import type { RemoteJwks } from './jwks-remote.js'
import type { KeySource, VerificationKey } from './key-source.js'
import {
  checkRemoteUrl,
  type DocumentSource,
  describeFailure,
  fetchBounded,
  type HttpPolicy,
  jsonObjectOf,
  RemoteDocument,
  RemoteError,
  type RemoteReport,
  type RemoteSettings,
  remoteUrlProblem,
} from './remote.js'

/** Authorization server metadata (RFC 8414 section 2): the members `@apiward/auth` reads, and any other. */
export interface AuthorizationServerMetadata {
  /** The issuer identifier, identical to the one configured (RFC 8414 section 3.3). */
  readonly issuer: string
  /** URL of the server's JWK Set: the keys of its tokens and of its signed introspection answers. */
  readonly jwks_uri?: string
  /** URL of the RFC 7662 introspection endpoint. */
  readonly introspection_endpoint?: string
  /** Client authentication methods the introspection endpoint accepts. */
  readonly introspection_endpoint_auth_methods_supported?: readonly string[]
  readonly [member: string]: unknown
}

/** A member of the metadata a guard cannot work without. */
export type MetadataEndpoint = 'jwks_uri' | 'introspection_endpoint'

const RFC8414 = '/.well-known/oauth-authorization-server'
const OPENID = '/.well-known/openid-configuration'

/**
 * Checks an issuer identifier at build time: an absolute `https:` URL (plain HTTP on loopback,
 * or with the `dangerously*` option), without query or fragment (RFC 8414 section 2) or userinfo
 * (RFC 9110 section 4.2.4), so the well-known URLs can be derived from it.
 */
export function checkIssuerIdentifier(value: unknown, where: string, http: HttpPolicy): URL {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(
      `${where}: issuer is the issuer identifier of your authorization server, e.g. "https://id.example.com/".`,
    )
  }
  const url = checkRemoteUrl(value, where, 'issuer', http)
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new TypeError(
      `${where}: issuer ${JSON.stringify(value)} has a query or fragment; RFC 8414 forbids both.`,
    )
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(
      `${where}: issuer ${JSON.stringify(value)} has userinfo (user:password@), deprecated in http(s) URIs (RFC 9110 section 4.2.4); credentials go in clientAuthentication or jwksOptions.headers.`,
    )
  }
  return url
}

/**
 * The two places an issuer's metadata may be found, in the order they are tried:
 *
 * 1. RFC 8414 section 3.1: `/.well-known/oauth-authorization-server` goes between the host and
 *    the issuer's path, whose terminating `/` is removed first
 *    (`https://as.example/tenant/` -> `https://as.example/.well-known/oauth-authorization-server/tenant`).
 * 2. OpenID Connect Discovery 1.0 section 4: `/.well-known/openid-configuration` is appended
 *    to the issuer, without doubling a terminating `/`
 *    (`https://as.example/tenant/` -> `https://as.example/tenant/.well-known/openid-configuration`).
 */
export function wellKnownUrls(issuer: URL): [rfc8414: URL, openid: URL] {
  const path = issuer.pathname.replace(/\/+$/, '')
  const rfc8414 = new URL(issuer.origin)
  rfc8414.pathname = `${RFC8414}${path}`
  const openid = new URL(issuer.origin)
  openid.pathname = `${path}${OPENID}`
  return [rfc8414, openid]
}

/** Checks a fetched metadata document against the issuer and the endpoints the guard needs. */
function checkMetadata(
  document: Record<string, unknown>,
  issuer: string,
  needs: readonly MetadataEndpoint[],
  allowHttp: boolean,
): AuthorizationServerMetadata {
  // RFC 8414 section 3.3: identical, character for character, or the metadata is not used.
  if (document.issuer !== issuer) {
    throw new RemoteError(
      'malformed',
      `metadata names issuer ${JSON.stringify(document.issuer)}, not ${JSON.stringify(issuer)}`,
    )
  }
  for (const member of needs) {
    const value = document[member]
    if (typeof value !== 'string') throw new RemoteError('malformed', `metadata has no ${member}`)
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new RemoteError('malformed', `metadata ${member} is not an absolute URL`)
    }
    const problem = remoteUrlProblem(url, allowHttp)
    if (problem !== undefined) throw new RemoteError('malformed', `metadata ${member} ${problem}`)
  }
  const methods = document.introspection_endpoint_auth_methods_supported
  if (methods !== undefined && !(Array.isArray(methods) && methods.every((m) => typeof m === 'string'))) {
    throw new RemoteError('malformed', 'metadata introspection_endpoint_auth_methods_supported is not a list')
  }
  return document as AuthorizationServerMetadata
}

/**
 * How an issuer's metadata is fetched: RFC 8414 first, then OpenID Discovery, the whole attempt
 * bounded by one `timeoutMs`. A place that does not answer with matching metadata (404, garbage,
 * another `issuer`) hands over to the next; the one that worked is tried first next time.
 */
export function metadataDocument(
  issuer: URL,
  identifier: string,
  needs: readonly MetadataEndpoint[],
  allowHttp: boolean,
): DocumentSource<AuthorizationServerMetadata> {
  const urls = wellKnownUrls(issuer)
  let preferred = 0
  return {
    async load(settings) {
      const deadline = Date.now() + settings.timeoutMs
      const failures: string[] = []
      for (const index of preferred === 0 ? [0, 1] : [1, 0]) {
        const url = urls[index]!
        const timeoutMs = deadline - Date.now()
        if (timeoutMs < 1) break
        try {
          const answer = await fetchBounded(url, {
            headers: { accept: 'application/json', ...settings.headers },
            timeoutMs,
            maxBytes: settings.maxBytes,
          })
          const metadata = checkMetadata(jsonObjectOf(answer), identifier, needs, allowHttp)
          preferred = index
          return { value: metadata, fields: { issuer: identifier, url: url.href } }
        } catch (err) {
          failures.push(`${url.href}: ${err instanceof RemoteError ? err.message : describeFailure(err)}`)
        }
      }
      throw new RemoteError('malformed', `no usable metadata (${failures.join('; ')})`)
    },
    events: { refreshed: 'discovery.refreshed', failed: 'discovery.refresh_failed' },
    failureFields: (serving) => ({ issuer: identifier, servingCachedMetadata: serving !== undefined }),
  }
}

/** The metadata of one issuer, kept fresh under the rules of every remote document. */
export type IssuerMetadata = RemoteDocument<AuthorizationServerMetadata>

/** Builds the metadata of `issuer` for a guard that needs `needs`. */
export function issuerMetadata(
  issuer: URL,
  identifier: string,
  needs: readonly MetadataEndpoint[],
  settings: RemoteSettings,
  report: RemoteReport,
  allowHttp: boolean,
): IssuerMetadata {
  return new RemoteDocument(metadataDocument(issuer, identifier, needs, allowHttp), settings, report)
}

/** Resolves once the metadata is there; rejects, naming the issuer and the cause, when it cannot be fetched. */
export async function metadataReady(
  metadata: IssuerMetadata,
  issuer: string,
): Promise<AuthorizationServerMetadata> {
  if (!metadata.loaded) await metadata.refresh()
  const value = metadata.value
  if (value === undefined) {
    throw new Error(`the metadata of issuer ${issuer} could not be loaded: ${metadata.lastFailure}`)
  }
  return value
}

/**
 * The keys at the issuer's `jwks_uri`, as its metadata names it: the metadata is read first
 * (fetched on first use), and a changed `jwks_uri` brings a fresh key set. Until both are
 * loaded, no key is found (`loaded` is `false`).
 */
export class DiscoveredJwks implements KeySource {
  readonly algorithms: readonly JwtAlgorithm[] = ASYMMETRIC_ALGORITHMS
  readonly #metadata: IssuerMetadata
  readonly #issuer: string
  readonly #jwksAt: (url: URL) => RemoteJwks
  #jwks: RemoteJwks | undefined
  #jwksUri: string | undefined

  constructor(metadata: IssuerMetadata, issuer: string, jwksAt: (url: URL) => RemoteJwks) {
    this.#metadata = metadata
    this.#issuer = issuer
    this.#jwksAt = jwksAt
  }

  get loaded(): boolean {
    return this.#jwks?.loaded === true
  }

  candidates(
    alg: JwtAlgorithm,
    kid: string | undefined,
  ): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    const metadata = this.#metadata.current()
    if (!isThenable<AuthorizationServerMetadata | undefined>(metadata)) {
      return this.#keysOf(metadata).candidates(alg, kid)
    }
    return Promise.resolve(metadata).then((loaded) =>
      loaded === undefined ? [] : this.#keysOf(loaded).candidates(alg, kid),
    )
  }

  describe(): { location: string; lastFailure: string | undefined } {
    const failure = this.#metadata.lastFailure
    if (failure !== undefined || this.#jwks === undefined) {
      return { location: `the metadata of issuer ${this.#issuer}`, lastFailure: failure }
    }
    return this.#jwks.describe()
  }

  /** Fetches the metadata and the keys unless loaded; rejects with why when either fails. */
  async ready(): Promise<void> {
    await this.#keysOf(await metadataReady(this.#metadata, this.#issuer)).ready()
  }

  #keysOf(metadata: AuthorizationServerMetadata): RemoteJwks {
    const uri = metadata.jwks_uri as string
    if (this.#jwks === undefined || this.#jwksUri !== uri) {
      this.#jwks = this.#jwksAt(new URL(uri))
      this.#jwksUri = uri
    }
    return this.#jwks
  }
}

import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { clientAddress } from './ip.js'
import { mediaTypeMatches, mediaTypeOf } from './media-type.js'
import { absoluteFormHost, normalizePath, originForm, type RoutingPolicy, routerPath } from './path.js'

/** The peer certificate of a TLS connection, for mTLS guards. */
export interface TlsInfo {
  /** Whether the certificate chain was verified by the server's `ca`. */
  authorized: boolean
  /** Why verification failed, when it did. */
  authorizationError: string | undefined
  /** The peer certificate (`getPeerCertificate(true)`), empty when the client sent none. */
  peerCertificate: ReturnType<TLSSocket['getPeerCertificate']>
}

/**
 * How far a framework trusts `X-Forwarded-For` (and its kin) when it resolves the client IP:
 *
 * - `'none'`: not at all, the IP is the peer's address;
 * - `'limited'`: a number of hops, or listed proxy addresses;
 * - `'any'`: every hop (Express `trust proxy: true`, Koa `app.proxy` without `maxIpsCount`,
 *   Fastify `trustProxy: true`), so the IP is the leftmost entry, which any client writes.
 */
export type ProxyTrust = 'none' | 'limited' | 'any'

/**
 * A read-only view of the incoming request that guards work with. Adapters build it cheaply:
 * every field is read from the framework's request when it is first asked for.
 */
export interface SecurityRequest {
  /** Upper-case HTTP method. */
  readonly method: string
  /**
   * The normalised path (see `normalizePath`): decoded once, dot segments and duplicate slashes
   * resolved, `;params` and the trailing slash removed. Reading it throws a 400 `ApiError`
   * when the raw path is malformed.
   */
  readonly path: string
  /**
   * The path as the serving router compares it (see `routerPath`): `path`, lower-cased where the
   * router ignores case, with the trailing slash kept where the router is strict about it. Keys
   * and decisions derived from the path use it, so `/LOGIN`, `/login/` and
   * `http://any.host/login` count as the route they reach.
   */
  readonly matchPath: string
  /** How the serving router compares paths, as the adapter read it from its framework. */
  readonly routing: RoutingPolicy
  /** The path as received, without the query string (an absolute-form target without its scheme and host). */
  readonly rawPath: string
  /** The route pattern (`/notes/:id`) when the router knows it. */
  readonly route: string | undefined
  /**
   * `https` or `http` as the framework resolved it under its trust-proxy setting (a trusted
   * proxy's `X-Forwarded-Proto`, otherwise the connection).
   */
  readonly protocol: 'http' | 'https'
  /** `protocol === 'https'`. */
  readonly secure: boolean
  /**
   * The host the client addressed, in lower case with its port when one was sent
   * (`api.example.com:8443`): the authority of an absolute-form target, which wins over `Host`
   * (RFC 9112 §3.2.2), otherwise what the framework resolved (`Host`, or a trusted proxy's
   * `X-Forwarded-Host`). `undefined` when the request names none.
   */
  readonly host: string | undefined
  /**
   * The body's media type, lower case and without parameters (`application/json`); `undefined`
   * without a well-formed `Content-Type`.
   */
  readonly contentType: string | undefined
  /**
   * Whether the body's media type is one of `types`: a full type (`application/json`), a
   * wildcard subtype (`text/*`) or a structured suffix (`+json`, which includes
   * `application/json`). `false` without a well-formed `Content-Type`.
   */
  is(...types: string[]): boolean
  /**
   * The client IP as the framework resolved it, so its trust-proxy setting holds, in one
   * spelling: without a port a proxy appended, an IPv4-mapped IPv6 address as its IPv4.
   */
  readonly ip: string | undefined
  /**
   * How far the framework trusts forwarding headers when it resolves `ip`, protocol and host:
   * see {@link ProxyTrust}. `undefined` when the adapter cannot tell.
   */
  readonly proxyTrust?: ProxyTrust
  /** Parsed query, as the framework parsed it. */
  readonly query: Readonly<Record<string, unknown>>
  /** Route parameters. */
  readonly params: Readonly<Record<string, string>>
  /** Parsed body; `undefined` until a body parser has run. */
  readonly body: unknown
  /** TLS peer information on an HTTPS connection, `undefined` on plain HTTP. */
  readonly tls: TlsInfo | undefined
  /**
   * Reads the raw body, at most `limit` bytes (see `SecurityContext.readBody`); only request
   * views with a body seam (every adapter's) have it.
   */
  readBody?(limit: number): Promise<Uint8Array>
  /** Hands the handler the body a guard parsed (see `SecurityContext.setBody`). */
  setBody?(value: unknown): void
  /** A header value (name in lower case); repeated headers are joined with `, `. */
  header(name: string): string | undefined
  /**
   * Every occurrence of a header, unmerged. Use it where a repeated header is an attack
   * (two `Authorization` headers): Node keeps only the first of some repeated headers.
   */
  headerValues(name: string): readonly string[] | undefined
}

/**
 * The `SecurityRequest` of a Node.js `IncomingMessage`; adapters extend it with what only their
 * framework knows (IP after trust-proxy, params, parsed query and body, route pattern).
 */
export abstract class NodeSecurityRequest implements SecurityRequest {
  readonly raw: IncomingMessage
  #path: string | undefined
  #matchPath: string | undefined
  #ip: string | undefined | null = null

  constructor(raw: IncomingMessage) {
    this.raw = raw
  }

  get method(): string {
    return this.raw.method ?? 'GET'
  }

  /**
   * The request target as the client sent it. Frameworks that rewrite `raw.url` inside mounted
   * routers or apps (Express, koa-mount) override it with their original URL, so guards there
   * still see the whole path.
   */
  protected get url(): string {
    return this.raw.url ?? '/'
  }

  get rawPath(): string {
    const url = originForm(this.url)
    const q = url.indexOf('?')
    return q === -1 ? url : url.slice(0, q)
  }

  get protocol(): 'http' | 'https' {
    const protocol = this.frameworkProtocol
    return protocol === 'https' || protocol?.toLowerCase() === 'https' ? 'https' : 'http'
  }

  /**
   * Resolved once (frameworks walk their trust-proxy rules on every read) and in one spelling
   * (`clientAddress`: no port, IPv4-mapped IPv6 as IPv4).
   */
  get ip(): string | undefined {
    if (this.#ip === null) {
      const ip = this.frameworkIp
      this.#ip = ip === undefined ? undefined : clientAddress(ip)
    }
    return this.#ip
  }

  get secure(): boolean {
    return this.protocol === 'https'
  }

  get host(): string | undefined {
    const host = absoluteFormHost(this.url) ?? this.frameworkHost
    return host === undefined || host === '' ? undefined : host.toLowerCase()
  }

  get contentType(): string | undefined {
    return mediaTypeOf(this.header('content-type'))
  }

  is(...types: string[]): boolean {
    return mediaTypeMatches(this.contentType, types)
  }

  get path(): string {
    if (this.#path === undefined) this.#path = normalizePath(this.url)
    return this.#path
  }

  get matchPath(): string {
    if (this.#matchPath === undefined) this.#matchPath = routerPath(this.path, this.rawPath, this.routing)
    return this.#matchPath
  }

  header(name: string): string | undefined {
    const value = this.raw.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }

  headerValues(name: string): readonly string[] | undefined {
    // A scan of rawHeaders: `headersDistinct` would build an array for every header.
    const raw = this.raw.rawHeaders
    const length = name.length
    let found: string[] | undefined
    for (let i = 0; i < raw.length; i += 2) {
      const header = raw[i]!
      if (header.length === length && header.toLowerCase() === name) {
        if (found === undefined) found = [raw[i + 1]!]
        else found.push(raw[i + 1]!)
      }
    }
    return found
  }

  get tls(): TlsInfo | undefined {
    const socket = this.raw.socket as Partial<TLSSocket>
    if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') return undefined
    return {
      authorized: socket.authorized === true,
      authorizationError:
        socket.authorizationError === undefined ? undefined : String(socket.authorizationError),
      peerCertificate: socket.getPeerCertificate(true),
    }
  }

  /** The framework's trust in forwarding headers; `undefined` unless the adapter tells. */
  get proxyTrust(): ProxyTrust | undefined {
    return undefined
  }

  abstract readonly route: string | undefined
  abstract readonly routing: RoutingPolicy
  /** The protocol as the framework resolved it (any case; anything but `https` is `http`). */
  protected abstract readonly frameworkProtocol: string | undefined
  /** The host as the framework resolved it (`Host`, or a trusted proxy's `X-Forwarded-Host`). */
  protected abstract readonly frameworkHost: string | undefined
  /** The client IP as the framework resolved it under its trust-proxy setting. */
  protected abstract readonly frameworkIp: string | undefined
  abstract readonly query: Readonly<Record<string, unknown>>
  abstract readonly params: Readonly<Record<string, string>>
  abstract readonly body: unknown
}

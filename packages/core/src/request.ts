import type { TLSSocket } from 'node:tls'
import type { RoutingPolicy } from './path.js'

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
   * The options the framework keeps for the matched route (Fastify's route `config`), where
   * app-wide guards read their per-route settings (`config.rateLimit`); `undefined` elsewhere.
   */
  readonly routeConfig?: Readonly<Record<string, unknown>>
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
   * The address of the connection's peer (the socket's remote address: a proxy when one is in
   * front), in the spelling of `ip`; `undefined` where the runtime gives none. A guard that
   * trusts a header only from a trusted proxy compares it with `ip`.
   */
  readonly peerAddress?: string | undefined
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
  /**
   * Hands the handler validated (coerced) path parameters or query, where the framework lets a
   * guard replace them (Fastify's `request.params` / `request.query`, Express's `req.params` /
   * `req.query`). Where the framework keeps them elsewhere it is absent or does nothing (Koa's
   * `ctx.query` setter turns values back into strings, Hono's are functions): the typed state is
   * then the one place.
   */
  setInput?(part: 'params' | 'query', value: Readonly<Record<string, unknown>>): void
  /** A header value (name in lower case); repeated headers are joined with `, `. */
  header(name: string): string | undefined
  /**
   * Every occurrence of a header, unmerged. Use it where a repeated header is an attack
   * (two `Authorization` headers): Node keeps only the first of some repeated headers.
   */
  headerValues(name: string): readonly string[] | undefined
}

import type { SecurityContext, SecurityEventBus } from '@apiward/core'
import type { JwtAlgorithm } from './algorithms.js'
import type { TokenLocation } from './bearer.js'
import type { ClientAuthentication } from './client-auth.js'
import type { IntrospectionCacheStore } from './introspection-cache.js'
import type { KnownOptions } from './options.js'
import type { RemoteJwksOptions } from './remote.js'

/** How answers of the introspection endpoint are cached. */
export interface IntrospectionCacheOptions {
  /**
   * Where answers are kept. Default: `memoryIntrospectionCache({ max })`, this process only.
   * `redisIntrospectionCache({ client })` shares them between instances.
   */
  store?: IntrospectionCacheStore
  /** Most answers kept by the default memory store. Default `10000`. */
  max?: number
  /**
   * Seconds an active answer is reused, and never past the token's `exp`. Default `30`: a
   * token revoked at the server keeps working here for at most this long.
   */
  ttl?: number
  /**
   * Seconds an inactive answer is reused. Default `10`: a client that keeps sending a dead
   * token costs the server one call per period, and the token stays refused meanwhile.
   */
  negativeTtl?: number
  /**
   * With `onEndpointFailure: 'serve-stale'`: seconds past `ttl` an answer may still serve while
   * the endpoint cannot answer, never past the token's `exp`. Default `300`.
   */
  staleTtl?: number
}

/** Options of {@link introspection}. */
export interface IntrospectionOptions {
  /**
   * The authorization server's issuer identifier, e.g. `https://id.example.com/`. Required. Its
   * metadata (RFC 8414, then OpenID Connect Discovery) gives `introspection_endpoint` and
   * `jwks_uri` unless they are set here; the metadata's `issuer` must be identical to it. An
   * active answer's `iss`, when it has one, must equal it too, and a signed answer's always.
   */
  issuer: string
  /** This resource server's client ID at the authorization server. Required. */
  clientId: string
  /**
   * How this resource server authenticates to the endpoint (RFC 7662 section 2.1 requires it):
   * `{ method: 'client_secret_basic', clientSecret }`, `{ method: 'client_secret_post',
   * clientSecret }` or `{ method: 'private_key_jwt', privateKey }`. Required.
   */
  clientAuthentication: ClientAuthentication
  /**
   * Accepted `aud` values: an active answer passes when one of its audiences is one of these.
   * Required (opt out only with `dangerouslyAllowAnyAudience`): without it a token issued for
   * another API of the same server would pass.
   */
  audience?: string | readonly string[]
  /** URL of the introspection endpoint. Default: the metadata's `introspection_endpoint`. */
  introspectionEndpoint?: string | URL
  /**
   * Ask for signed answers (RFC 9701, `Accept: application/token-introspection+jwt`) and accept
   * nothing else. Each answer is verified with the server's keys (`jwksUri`, else the
   * metadata's `jwks_uri`): `typ` `token-introspection+jwt`, `iss` the issuer, `aud` the
   * `clientId`, `iat` within five minutes. Default `false`: the TLS connection vouches for
   * the answer.
   */
  jwtResponse?: boolean
  /** Algorithms accepted on signed answers. Default: every asymmetric one, each key only with its own type. */
  jwtResponseAlgorithms?: readonly JwtAlgorithm[]
  /** URL of the server's JWK Set for signed answers. Default: the metadata's `jwks_uri`. */
  jwksUri?: string | URL
  /**
   * Cache of answers, keyed by a hash of the token, active and inactive ones alike. Default
   * `{ max: 10000, ttl: 30, negativeTtl: 10 }` in memory; `false` introspects every request.
   * Concurrent requests with the same token always share one call (single-flight).
   */
  cache?: false | IntrospectionCacheOptions
  /**
   * What a request gets when the endpoint cannot answer (down, slow, garbage, refusing the
   * client). `'fail-closed'` (the default): 503 `auth.unavailable` with `Retry-After`, since
   * the token cannot be judged. `'serve-stale'`: a token whose answer was cached within
   * `cache.staleTtl` is decided on that answer, so known clients keep working through a short
   * outage (a token revoked meanwhile too, until `staleTtl` ends); every other token gets the
   * 503. Admitting unknown tokens during an outage is not offered.
   */
  onEndpointFailure?: 'fail-closed' | 'serve-stale'
  /** Seconds in the `Retry-After` of a 503. Default `5`, so clients do not hammer a server that is down. */
  retryAfter?: number
  /** Milliseconds an introspection call may take. Default `3000`; past it the request gets the 503. */
  timeoutMs?: number
  /** Largest answer accepted, in bytes, counted as it streams. Default `65536`. */
  maxResponseBytes?: number
  /**
   * How the metadata and the JWK Set are fetched and cached (`timeoutMs`, `cooldownMs`,
   * `maxAgeMs`, `maxBytes`); `headers` go with every request to the server, introspection
   * included.
   */
  remoteOptions?: RemoteJwksOptions
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. Default `5`, at most `30`. */
  clockTolerance?: number
  /** Members an active answer must have besides `aud` and `sub` (or `client_id`). */
  requiredClaims?: readonly string[]
  /**
   * A check of your own on an active answer, on every request (cached answers included). Only
   * `true` accepts; read as `jwt()`'s `validate` is. Default: none.
   */
  validate?: (
    claims: Readonly<Record<string, unknown>>,
    ctx: SecurityContext,
  ) => boolean | PromiseLike<boolean>
  /**
   * Which bearer tokens this guard takes. `'any'` (the default) introspects every token.
   * `'opaque'` leaves JWT-shaped tokens to another guard: `hasCredential` says no to them, so
   * `anyOf(introspection({ tokenFormat: 'opaque', ... }), jwt({ ... }))` sends JWTs to `jwt()`,
   * and used alone it refuses them without a call.
   */
  tokenFormat?: 'any' | 'opaque'
  /** Where tokens are looked for, as `jwt()`'s option. Default `['header']`. */
  tokenLocations?: readonly TokenLocation[]
  /** `false` lets requests without a token through anonymously; a bad token is still a 401. Default `true`. */
  required?: boolean
  /** The `realm` of `WWW-Authenticate` challenges. Default `api`. */
  realm?: string
  /** Longest token accepted, in characters; a longer one is refused without a call. Default `8192`. */
  maxTokenLength?: number
  /** Claim path of the principal's roles, e.g. `realm_access.roles`. Default `roles`. */
  rolesClaim?: string
  /**
   * Where background events go (`discovery.refreshed`, `discovery.refresh_failed`,
   * `jwks.refreshed`, `jwks.refresh_failed`), through `report()`. Default: `securityEvents`.
   */
  events?: SecurityEventBus
  /** Accept active answers for any audience. */
  dangerouslyAllowAnyAudience?: boolean
  /**
   * Accept an issuer, endpoint or JWK Set over plain HTTP on a non-loopback host: the client's
   * credentials and every token would cross the network in clear.
   */
  dangerouslyAllowHttp?: boolean
}

/** Every option, tied to the type. */
export const INTROSPECTION_OPTIONS: KnownOptions<IntrospectionOptions> = {
  issuer: true,
  clientId: true,
  clientAuthentication: true,
  audience: true,
  introspectionEndpoint: true,
  jwtResponse: true,
  jwtResponseAlgorithms: true,
  jwksUri: true,
  cache: true,
  onEndpointFailure: true,
  retryAfter: true,
  timeoutMs: true,
  maxResponseBytes: true,
  remoteOptions: true,
  clockTolerance: true,
  requiredClaims: true,
  validate: true,
  tokenFormat: true,
  tokenLocations: true,
  required: true,
  realm: true,
  maxTokenLength: true,
  rolesClaim: true,
  events: true,
  dangerouslyAllowAnyAudience: true,
  dangerouslyAllowHttp: true,
}

export const CACHE_OPTIONS: KnownOptions<IntrospectionCacheOptions> = {
  store: true,
  max: true,
  ttl: true,
  negativeTtl: true,
  staleTtl: true,
}

/** Names other libraries use, and what they are called here. */
export const INTROSPECTION_MISTAKES: Readonly<Record<string, string>> = {
  issuerBaseURL: 'issuer',
  endpoint: 'introspectionEndpoint',
  introspectionUrl: 'introspectionEndpoint',
  introspectionURL: 'introspectionEndpoint',
  clientSecret: "clientAuthentication: { method: 'client_secret_basic', clientSecret }",
  client_id: 'clientId',
  audiences: 'audience',
  failOpen: "onEndpointFailure (fail-open is not offered; 'serve-stale' keeps known tokens working)",
  onStoreFailure: 'onEndpointFailure',
}

import {
  checkOptions,
  type KnownOptions,
  type SecurityContext,
  type SecurityEventBus,
  securityEvents,
  warnOnce,
} from '@apiward/core'
import { ASYMMETRIC_ALGORITHMS, isJwtAlgorithm, type JwtAlgorithm } from './algorithms.js'
import { type BearerSettings, bearerSettings, type TokenLocation } from './bearer.js'
import { type BindingOptions, type TokenBinding, tokenBinding } from './binding.js'
import { type ClaimPolicy, clockToleranceOf } from './claims.js'
import { type ClientAuthentication, clientAuthentication } from './client-auth.js'
import {
  type AuthorizationServerMetadata,
  checkIssuerIdentifier,
  DiscoveredJwks,
  type IssuerMetadata,
  issuerMetadata,
  type MetadataEndpoint,
} from './discovery.js'
import { type IntrospectionCacheStore, memoryIntrospectionCache } from './introspection-cache.js'
import { type EndpointSettings, introspector } from './introspection-endpoint.js'
import { RemoteJwks } from './jwks-remote.js'
import type { KeySource } from './key-source.js'
import {
  backgroundReport,
  checkRemoteUrl,
  type RemoteJwksOptions,
  type RemoteSettings,
  remoteSettings,
} from './remote.js'
import { warnIfMilliseconds } from './seconds.js'

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
export interface IntrospectionOptions extends BindingOptions {
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
  /**
   * Milliseconds an introspection call may take, the answer's body included. Default `3000`:
   * a slow server delays a request by no more than this, then the request gets the 503.
   */
  timeoutMs?: number
  /**
   * Largest answer accepted, in bytes, counted as it streams; the connection is dropped at the
   * limit. Default `65536`: an endpoint that answers without end costs this much, not more.
   */
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
   * `true` accepts; read as `jwt()`'s `verifyClaims` is. Default: none.
   */
  verifyClaims?: (
    claims: Readonly<Record<string, unknown>>,
    ctx: SecurityContext,
  ) => boolean | PromiseLike<boolean>
  /**
   * @deprecated Renamed `verifyClaims`, as in `jwt()` (the old name read as `@apiward/validate`'s
   * `validate()`). Still honoured, with a one-time warning; giving both is a startup error.
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
  verifyClaims: true,
  tokenFormat: true,
  tokenLocations: true,
  required: true,
  realm: true,
  maxTokenLength: true,
  rolesClaim: true,
  events: true,
  dangerouslyAllowAnyAudience: true,
  dangerouslyAllowHttp: true,
  dpop: true,
  certificateBinding: true,
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

function positive(
  value: number | undefined,
  fallback: number,
  where: string,
  name: string,
  unit: string,
): number {
  const n = value ?? fallback
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    throw new TypeError(`${where}: ${name} is a positive number of ${unit} (default ${fallback}).`)
  }
  if (unit === 'seconds') warnIfMilliseconds(n, where, name)
  return n
}

/** The options of {@link introspection}, checked once; the guard reads only this. */
export interface IntrospectionConfiguration {
  readonly issuer: string
  readonly audience: ReadonlySet<string> | undefined
  readonly bearer: BearerSettings
  /** The token's binding to the request (`cnf`: DPoP, a client certificate), checked last. */
  readonly binding: TokenBinding
  readonly policy: ClaimPolicy
  readonly requiredClaims: readonly string[]
  readonly validate: IntrospectionOptions['validate']
  readonly opaqueOnly: boolean
  readonly store: IntrospectionCacheStore | undefined
  readonly ttlMs: number
  readonly negativeTtlMs: number
  /** `staleTtl` in milliseconds with `serve-stale`, else `0`. */
  readonly staleMs: number
  readonly retryAfter: number
  /** Hashed before the token: keys differ per issuer and client, so a shared store never mixes them. */
  readonly keyPrefix: string
  readonly introspect: (token: string) => Promise<Record<string, unknown>>
  readonly metadata: IssuerMetadata | undefined
  readonly answerKeys: KeySource | undefined
  readonly bus: SecurityEventBus
  /** Warns once when the metadata does not list the client authentication method in use. */
  readonly onMetadata: (metadata: AuthorizationServerMetadata) => void
}

function cacheSettings(option: false | IntrospectionCacheOptions | undefined, where: string) {
  if (option === false) return { store: undefined, ttl: 0, negativeTtl: 0, staleTtl: 0 }
  const cache = option ?? {}
  checkOptions<IntrospectionCacheOptions>(cache, `${where}: cache`, CACHE_OPTIONS)
  if (cache.store !== undefined && cache.max !== undefined) {
    throw new TypeError(`${where}: cache.max sizes the default memory store; size your own store instead.`)
  }
  const store = cache.store ?? memoryIntrospectionCache({ max: cache.max ?? 10_000 })
  if (typeof store?.get !== 'function' || typeof store.set !== 'function') {
    throw new TypeError(
      `${where}: cache.store has get(key) and set(key, entry, ttlMs), e.g. redisIntrospectionCache({ client }).`,
    )
  }
  return {
    store,
    ttl: positive(cache.ttl, 30, where, 'cache.ttl', 'seconds'),
    negativeTtl: positive(cache.negativeTtl, 10, where, 'cache.negativeTtl', 'seconds'),
    staleTtl: positive(cache.staleTtl, 300, where, 'cache.staleTtl', 'seconds'),
  }
}

export function parseIntrospectionOptions(options: IntrospectionOptions): IntrospectionConfiguration {
  const where = 'introspection()'
  checkOptions<IntrospectionOptions>(
    options,
    where,
    INTROSPECTION_OPTIONS,
    INTROSPECTION_MISTAKES,
    "introspection({ issuer, clientId, clientAuthentication: { method: 'client_secret_basic', clientSecret }, audience })",
  )
  const http = { allowed: options.dangerouslyAllowHttp === true, option: 'dangerouslyAllowHttp' }
  const issuer = options.issuer
  const issuerUrl = checkIssuerIdentifier(issuer, where, http)
  if (typeof options.clientId !== 'string' || options.clientId === '') {
    throw new TypeError(
      `${where}: clientId is this API's client ID at the authorization server (a non-empty string).`,
    )
  }
  if (options.clientAuthentication === undefined) {
    throw new TypeError(
      `${where}: clientAuthentication is required (RFC 7662 section 2.1): { method: 'client_secret_basic', clientSecret }, { method: 'client_secret_post', clientSecret } or { method: 'private_key_jwt', privateKey }.`,
    )
  }
  const authenticate = clientAuthentication(options.clientAuthentication, options.clientId, issuer, where)
  const audienceList =
    options.audience === undefined
      ? undefined
      : typeof options.audience === 'string'
        ? [options.audience]
        : options.audience
  if (audienceList === undefined && options.dangerouslyAllowAnyAudience !== true) {
    throw new TypeError(
      `${where}: audience is required (the \`aud\` your API is known by, e.g. "https://api.example.com"); without it tokens issued for other APIs pass. Opt out only with dangerouslyAllowAnyAudience: true.`,
    )
  }
  if (
    audienceList !== undefined &&
    (!Array.isArray(audienceList) ||
      audienceList.length === 0 ||
      audienceList.some((a) => typeof a !== 'string' || a === ''))
  ) {
    throw new TypeError(`${where}: audience is a non-empty string or a list of them.`)
  }
  if (
    options.onEndpointFailure !== undefined &&
    options.onEndpointFailure !== 'fail-closed' &&
    options.onEndpointFailure !== 'serve-stale'
  ) {
    throw new TypeError(
      `${where}: onEndpointFailure is 'fail-closed' (default: 503 while the endpoint cannot answer) or 'serve-stale'; admitting unchecked tokens is not offered.`,
    )
  }
  if (
    options.tokenFormat !== undefined &&
    options.tokenFormat !== 'any' &&
    options.tokenFormat !== 'opaque'
  ) {
    throw new TypeError(`${where}: tokenFormat is 'any' (default) or 'opaque'.`)
  }
  const verifyClaims = verifyClaimsOf(options, where)
  const requiredClaims = options.requiredClaims ?? []
  if (!Array.isArray(requiredClaims) || requiredClaims.some((c) => typeof c !== 'string')) {
    throw new TypeError(`${where}: requiredClaims is a list of claim names.`)
  }
  const rolesClaim = options.rolesClaim ?? 'roles'
  const bus = options.events ?? securityEvents
  const report = backgroundReport(bus)
  const remote: RemoteSettings = remoteSettings(options.remoteOptions, `${where}: remoteOptions`)

  const endpoint =
    options.introspectionEndpoint === undefined
      ? undefined
      : checkRemoteUrl(options.introspectionEndpoint, where, 'introspectionEndpoint', http)
  const jwtResponse = options.jwtResponse === true
  const jwksUri =
    options.jwksUri === undefined ? undefined : checkRemoteUrl(options.jwksUri, where, 'jwksUri', http)
  if (jwksUri !== undefined && !jwtResponse) {
    throw new TypeError(`${where}: jwksUri verifies signed answers; set jwtResponse: true, or drop jwksUri.`)
  }
  const needs: MetadataEndpoint[] = []
  if (endpoint === undefined) needs.push('introspection_endpoint')
  if (jwtResponse && jwksUri === undefined) needs.push('jwks_uri')
  const metadata =
    needs.length === 0 ? undefined : issuerMetadata(issuerUrl, issuer, needs, remote, report, http.allowed)
  const remoteJwks = (url: URL) => new RemoteJwks(url, remote, report)
  let answerKeys: KeySource | undefined
  if (jwtResponse)
    answerKeys =
      jwksUri === undefined ? new DiscoveredJwks(metadata!, issuer, remoteJwks) : remoteJwks(jwksUri)
  const algorithms = options.jwtResponseAlgorithms ?? ASYMMETRIC_ALGORITHMS
  if (algorithms.length === 0 || algorithms.some((alg) => !isJwtAlgorithm(alg) || alg.startsWith('HS'))) {
    throw new TypeError(
      `${where}: jwtResponseAlgorithms lists asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')}).`,
    )
  }
  const clockTolerance = clockToleranceOf(options.clockTolerance, where)
  const method = options.clientAuthentication.method
  const onMetadata = (found: AuthorizationServerMetadata) => {
    const methods = found.introspection_endpoint_auth_methods_supported
    if (methods !== undefined && !methods.includes(method)) {
      warnOnce(
        'APIWARD_INTROSPECTION_AUTH_METHOD',
        `introspection(): the metadata of ${issuer} lists ${methods.join(', ')} as the client authentication methods of its introspection endpoint, not ${method}; the server may refuse this client.`,
        'auth.md#client-authentication',
      )
    }
  }
  const settings: EndpointSettings = {
    issuer,
    clientId: options.clientId,
    endpoint,
    metadata,
    authenticate,
    jwtAnswers:
      answerKeys === undefined
        ? undefined
        : { keys: answerKeys, algorithms: new Set(algorithms), clockTolerance },
    timeoutMs: positive(options.timeoutMs, 3000, where, 'timeoutMs', 'milliseconds'),
    maxBytes: positive(options.maxResponseBytes, 65_536, where, 'maxResponseBytes', 'bytes'),
    headers: remote.headers,
    onMetadata,
  }
  const cache = cacheSettings(options.cache, where)
  const serveStale = options.onEndpointFailure === 'serve-stale'
  if (serveStale && cache.store === undefined) {
    throw new TypeError(
      `${where}: onEndpointFailure: 'serve-stale' serves cached answers; it needs the cache (drop cache: false).`,
    )
  }
  const binding = tokenBinding(options, where, 'introspection')
  return {
    issuer,
    audience: audienceList === undefined ? undefined : new Set(audienceList),
    bearer: binding.bearer(bearerSettings(options, where, 'introspection', binding.challenge)),
    binding,
    policy: { clockTolerance, maxTokenLifetime: undefined, rolesClaim },
    requiredClaims,
    validate: verifyClaims,
    opaqueOnly: options.tokenFormat === 'opaque',
    store: cache.store,
    ttlMs: cache.ttl * 1000,
    negativeTtlMs: cache.negativeTtl * 1000,
    staleMs: serveStale ? cache.staleTtl * 1000 : 0,
    retryAfter: positive(options.retryAfter, 5, where, 'retryAfter', 'seconds'),
    keyPrefix: `${issuer}\n${options.clientId}\n`,
    introspect: introspector(settings),
    metadata,
    answerKeys,
    bus,
    onMetadata,
  }
}

/** The check of `verifyClaims`, or of its deprecated name `validate`. */
function verifyClaimsOf(options: IntrospectionOptions, where: string): IntrospectionOptions['verifyClaims'] {
  if (options.validate !== undefined && options.verifyClaims !== undefined) {
    throw new TypeError(`${where}: validate is the old name of verifyClaims; give only verifyClaims.`)
  }
  const name = options.validate === undefined ? 'verifyClaims' : 'validate'
  const check = options.verifyClaims ?? options.validate
  if (check !== undefined && typeof check !== 'function') {
    throw new TypeError(`${where}: ${name} is a function (claims, ctx) => boolean.`)
  }
  if (name === 'validate') {
    warnOnce(
      'APIWARD_INTROSPECTION_VALIDATE_RENAMED',
      `${where}: the validate option is now called verifyClaims; validate still works but will be removed.`,
      'auth.md#callbacks',
    )
  }
  return check
}

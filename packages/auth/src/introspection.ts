import { createHash } from 'node:crypto'
import {
  type Principal,
  type SecurityContext,
  type SecurityEventBus,
  type SecurityRequest,
  securityEvents,
  warnOnce,
} from '@apiward/core'
import { type ApiError, ServiceUnavailable } from '@apiward/errors'
import type { JWTPayload } from 'jose'
import { ASYMMETRIC_ALGORITHMS, isJwtAlgorithm } from './algorithms.js'
import { type BearerSettings, bearerSettings, isB64Token } from './bearer.js'
import { isThenable, runValidate } from './callback.js'
import { type ClaimPolicy, claimsFailure, clockToleranceOf } from './claims.js'
import { clientAuthentication } from './client-auth.js'
import type { CredentialGuard } from './credential.js'
import {
  type AuthorizationServerMetadata,
  checkIssuerIdentifier,
  DiscoveredJwks,
  type IssuerMetadata,
  issuerMetadata,
  type MetadataEndpoint,
  metadataReady,
} from './discovery.js'
import type { TokenFailureReason } from './errors.js'
import {
  type CachedIntrospection,
  type IntrospectionCacheStore,
  memoryIntrospectionCache,
} from './introspection-cache.js'
import { type EndpointSettings, IntrospectionFailure, introspector } from './introspection-endpoint.js'
import {
  CACHE_OPTIONS,
  INTROSPECTION_MISTAKES,
  INTROSPECTION_OPTIONS,
  type IntrospectionCacheOptions,
  type IntrospectionOptions,
} from './introspection-options.js'
import { RemoteJwks } from './jwks-remote.js'
import type { KeySource } from './key-source.js'
import { checkOptionNames } from './options.js'
import { principalFromPayload } from './principal.js'
import { backgroundReport, checkRemoteUrl, type RemoteSettings, remoteSettings } from './remote.js'

/** An {@link introspection} guard; `ready()` loads the server's metadata and keys ahead of the first token. */
export interface IntrospectionGuard extends CredentialGuard {
  /**
   * Fetches the issuer's metadata (when an endpoint comes from it) and, for signed answers,
   * its JWK Set, unless loaded, so a deployment fails at startup instead of on the first
   * request. Rejects with an `Error` naming the URL and the cause (an `issuer` that differs from
   * the configured one, no `introspection_endpoint`, a server that is down); the guard keeps
   * trying on later requests.
   */
  ready(): Promise<void>
}

/** What the guard decided about one answer; computed once per cached answer in memory. */
interface Verdict {
  readonly principal: Principal | undefined
  readonly reason: TokenFailureReason | undefined
  readonly claims: Readonly<Record<string, unknown>> | undefined
  /** `exp` and `nbf` in seconds, re-checked on every request. */
  readonly exp: number
  readonly nbf: number
}

const kVerdict = Symbol('apiward.introspectionVerdict')
type Entry = CachedIntrospection & { [kVerdict]?: Verdict }

const UNAVAILABLE = 'The access token cannot be checked right now. Retry later.'
const VALIDATE = { code: 'auth.invalid_token', credential: 'introspection', callback: 'validate' } as const

/** Whether a token looks like a JWS or JWE (a JSON header first), for `tokenFormat: 'opaque'`. */
function jwtShaped(token: string | undefined): boolean {
  if (token === undefined || !token.startsWith('eyJ')) return false
  const parts = token.split('.').length
  return parts === 3 || parts === 5
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
  return n
}

/** The options, checked once; the guard reads only this. */
interface Configuration {
  readonly issuer: string
  readonly audience: ReadonlySet<string> | undefined
  readonly bearer: BearerSettings
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
  checkOptionNames<IntrospectionCacheOptions>(cache, `${where}: cache`, CACHE_OPTIONS)
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

function parseOptions(options: IntrospectionOptions): Configuration {
  const where = 'introspection()'
  checkOptionNames<IntrospectionOptions>(
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
  if (options.validate !== undefined && typeof options.validate !== 'function') {
    throw new TypeError(`${where}: validate is a function (claims, ctx) => boolean.`)
  }
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
  return {
    issuer,
    audience: audienceList === undefined ? undefined : new Set(audienceList),
    bearer: bearerSettings(options, where, 'introspection'),
    policy: { clockTolerance, maxTokenLifetime: undefined, rolesClaim },
    requiredClaims,
    validate: options.validate,
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

/**
 * Authenticates opaque bearer tokens by asking the authorization server (OAuth 2.0 Token
 * Introspection, RFC 7662): the token from the `Authorization` header is posted to the
 * introspection endpoint with this API's client credentials (`client_secret_basic`,
 * `client_secret_post` or `private_key_jwt`), and an active answer becomes the principal as a
 * JWT's claims do (`sub`, or `client_id` for a client's own token; `scope`; roles).
 *
 * - `active: false` is a 401 `auth.invalid_token`, whatever else the answer says. An active
 *   answer's `aud` must name `audience`; its `iss` (when given) is the issuer; `exp`, `nbf`,
 *   `iat` and the types of registered claims are checked as `jwt()` checks them.
 * - The endpoint comes from the issuer's metadata (RFC 8414, then OpenID Discovery) unless set;
 *   signed answers (RFC 9701, `jwtResponse: true`) are verified with the server's keys.
 * - Answers are cached under a hash of the token, in memory or Redis, never past the token's
 *   `exp`; concurrent requests with one token share one call; each call has a timeout.
 * - When the endpoint cannot answer (down, slow, garbage, oversized, refusing the client) the
 *   request gets 503 `auth.unavailable` with `Retry-After`, never a 401 and never a pass.
 *
 * @example
 * ```ts
 * const auth = introspection({
 *   issuer: 'https://id.example.com/',
 *   clientId: 'notes-api',
 *   clientAuthentication: { method: 'client_secret_basic', clientSecret: process.env.INTROSPECTION_SECRET! },
 *   audience: 'https://api.example.com',
 * })
 * await auth.ready()
 * app.get('/notes', guard(auth), (req, res) => res.json(notesOf(req.auth!.id)))
 * ```
 */
export function introspection(options: IntrospectionOptions): IntrospectionGuard {
  const config = parseOptions(options)
  const { bearer, store, policy, audience, validate } = config
  const { extract, challenges, required, maxTokenLength } = bearer
  const inFlight = new Map<string, Promise<Entry>>()

  const refuse = (ctx: SecurityContext, reason: TokenFailureReason): ApiError => {
    ctx.emit('auth.failure', {
      severity: 'warn',
      code: 'auth.invalid_token',
      credential: 'introspection',
      reason,
    })
    return challenges.invalidToken()
  }
  const refusedByValidate = (ctx: SecurityContext) => refuse(ctx, 'rejected_by_validate')

  const refused = (reason: TokenFailureReason, claims?: Readonly<Record<string, unknown>>): Verdict => ({
    principal: undefined,
    reason,
    claims,
    exp: 0,
    nbf: 0,
  })

  /** The verdict on an active answer: the checks `jwt()` makes on a verified payload. */
  const judge = (claims: Readonly<Record<string, unknown>>): Verdict => {
    const payload = claims as JWTPayload
    const reason = claimsFailure(payload, policy, Date.now() / 1000)
    if (reason !== undefined) return refused(reason, claims)
    if (payload.iss !== undefined && payload.iss !== config.issuer)
      return refused('issuer_not_allowed', claims)
    if (audience !== undefined) {
      const aud = payload.aud
      if (aud === undefined) return refused('missing_claim', claims)
      if (!(typeof aud === 'string' ? audience.has(aud) : aud.some((a) => audience.has(a)))) {
        return refused('audience_not_allowed', claims)
      }
    }
    for (const name of config.requiredClaims)
      if (claims[name] === undefined) return refused('missing_claim', claims)
    // A client's own token (client credentials) may name no subject: the client is the principal.
    const sub = payload.sub ?? payload.client_id
    if (typeof sub !== 'string' || sub === '') return refused('missing_claim', claims)
    const principal = principalFromPayload(sub === payload.sub ? payload : { ...payload, sub }, {
      rolesClaim: policy.rolesClaim,
      credential: 'introspection',
    })
    return {
      principal: { ...principal, claims },
      reason: undefined,
      claims,
      exp: payload.exp ?? Number.POSITIVE_INFINITY,
      nbf: payload.nbf ?? Number.NEGATIVE_INFINITY,
    }
  }

  const verdictOf = (entry: Entry): Verdict => {
    let verdict = entry[kVerdict]
    if (verdict === undefined) {
      verdict = entry.claims === undefined ? refused('inactive') : judge(entry.claims)
      // Entries a store hands back as they were given (the memory store) are judged once.
      if (Object.isExtensible(entry)) entry[kVerdict] = verdict
    }
    return verdict
  }

  /** Decides on a verdict at `now` (milliseconds); `exp` and `nbf` are checked again on every request. */
  const decide = (ctx: SecurityContext, verdict: Verdict, now: number): void | Promise<void> => {
    const { principal } = verdict
    if (principal === undefined) throw refuse(ctx, verdict.reason!)
    const seconds = now / 1000
    const tolerance = policy.clockTolerance
    if (verdict.exp + tolerance <= seconds) throw refuse(ctx, 'expired')
    if (verdict.nbf - tolerance > seconds) throw refuse(ctx, 'not_yet_valid')
    if (validate !== undefined) {
      const validated = runValidate(ctx, validate, verdict.claims!, VALIDATE, refusedByValidate)
      if (validated !== undefined) return validated.then(() => grant(ctx, principal))
    }
    grant(ctx, principal)
  }

  const grant = (ctx: SecurityContext, principal: Principal): void => {
    ctx.principal = principal
    ctx.emit('auth.success', { credential: 'introspection' })
  }

  /**
   * The answer as the cache keeps it: an inactive one without its members (RFC 7662 section
   * 2.2: every other member is to be ignored), an active one fresh for `ttl`, never past `exp`.
   */
  const remember = (key: string, members: Record<string, unknown>): Entry => {
    const now = Date.now()
    const active = members.active === true
    const exp = typeof members.exp === 'number' ? members.exp * 1000 : Number.POSITIVE_INFINITY
    const entry: Entry = active
      ? { claims: members, freshUntil: Math.min(now + config.ttlMs, exp) }
      : { freshUntil: now + config.negativeTtlMs }
    if (active) entry[kVerdict] = judge(members)
    const keepFor = Math.min(entry.freshUntil + config.staleMs, active ? exp : Number.POSITIVE_INFINITY) - now
    if (store !== undefined && keepFor >= 1) {
      try {
        const stored = store.set(key, entry, keepFor)
        if (isThenable(stored)) Promise.resolve(stored).catch(cacheWriteFailed)
      } catch (err) {
        cacheWriteFailed(err)
      }
    }
    return entry
  }

  const cacheWriteFailed = (err: unknown) => {
    config.bus.report('introspection.cache_failed', {
      severity: 'warn',
      operation: 'set',
      detail: err instanceof Error ? err.message : String(err),
    })
  }

  const cacheReadFailed = (ctx: SecurityContext, err: unknown) => {
    ctx.emit('auth.error', {
      severity: 'warn',
      code: 'auth.cache_unavailable',
      credential: 'introspection',
      detail: err instanceof Error ? err.message : String(err),
      error: err,
    })
  }

  /**
   * The endpoint could not answer. With `serve-stale`, a cached answer within `staleTtl`
   * decides; otherwise 503: the token was not judged, so it is neither admitted nor refused.
   */
  const unavailable = (
    ctx: SecurityContext,
    err: unknown,
    stale: Entry | undefined,
  ): void | Promise<void> => {
    const reason = err instanceof IntrospectionFailure ? err.reason : 'unexpected'
    const detail = err instanceof Error ? err.message : String(err)
    if (stale !== undefined) {
      ctx.emit('auth.error', {
        severity: 'warn',
        code: 'auth.introspection_stale',
        credential: 'introspection',
        reason,
        detail,
      })
      return decide(ctx, verdictOf(stale), Date.now())
    }
    ctx.emit('auth.error', {
      severity: 'error',
      code: 'auth.unavailable',
      credential: 'introspection',
      reason,
      detail,
      error: err,
    })
    throw new ServiceUnavailable({
      code: 'auth.unavailable',
      detail: UNAVAILABLE,
      retryAfter: config.retryAfter,
      cause: err,
    })
  }

  /** Introspects the token, one call for every request that waits on the same token. */
  const introspect = (ctx: SecurityContext, token: string, key: string, stale: Entry | undefined) => {
    let pending = inFlight.get(key)
    if (pending === undefined) {
      pending = config.introspect(token).then((members) => remember(key, members))
      inFlight.set(key, pending)
      const done = () => inFlight.delete(key)
      pending.then(done, done)
    }
    return pending.then(
      (entry) => decide(ctx, verdictOf(entry), Date.now()),
      (err: unknown) => unavailable(ctx, err, stale),
    )
  }

  const fromCache = (ctx: SecurityContext, token: string, key: string, entry: Entry | undefined) => {
    if (entry === undefined) return introspectNew(ctx, token, key)
    const now = Date.now()
    if (entry.freshUntil > now) return decide(ctx, verdictOf(entry), now)
    return introspect(ctx, token, key, config.staleMs > 0 ? entry : undefined)
  }

  const keyOf = (token: string): string =>
    createHash('sha256')
      .update(config.keyPrefix + token)
      .digest('base64url')

  /** A miss: the token is checked for shape, then sent to the endpoint. */
  const introspectNew = (ctx: SecurityContext, token: string, key: string): Promise<void> => {
    if (!isB64Token(token)) throw challenges.invalidRequest('The bearer token is missing or malformed.')
    return introspect(ctx, token, key, undefined)
  }

  const guard = (ctx: SecurityContext): void | Promise<void> => {
    const token = extract(ctx.req)
    if (token === undefined) {
      if (!required) return
      throw bearer.missingToken(ctx)
    }
    if (token.length > maxTokenLength) throw refuse(ctx, 'too_long')
    if (config.opaqueOnly && jwtShaped(token)) throw refuse(ctx, 'wrong_type')
    // Only well-formed tokens are ever cached, so the shape is checked on a miss alone.
    const key = keyOf(token)
    if (store === undefined) return introspectNew(ctx, token, key)
    let found: Entry | undefined | Promise<Entry | undefined>
    try {
      found = store.get(key)
    } catch (err) {
      cacheReadFailed(ctx, err)
      return introspectNew(ctx, token, key)
    }
    if (!isThenable<Entry | undefined>(found)) return fromCache(ctx, token, key, found)
    return Promise.resolve(found).then(
      (entry) => fromCache(ctx, token, key, entry),
      (err: unknown) => {
        cacheReadFailed(ctx, err)
        return introspectNew(ctx, token, key)
      },
    )
  }

  /** A token this guard leaves to others (`tokenFormat: 'opaque'`) is no credential of its own. */
  const peek = (req: SecurityRequest): string | undefined => {
    try {
      return extract(req)
    } catch {
      return undefined
    }
  }
  const hasCredential = config.opaqueOnly
    ? (req: SecurityRequest) => extract.present(req) && !jwtShaped(peek(req))
    : extract.present

  const ready = async (): Promise<void> => {
    try {
      if (config.metadata !== undefined)
        config.onMetadata(await metadataReady(config.metadata, config.issuer))
      await config.answerKeys?.ready?.()
    } catch (err) {
      throw new Error(`introspection(): ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  return Object.assign(guard, {
    guardName: 'introspection',
    needsBody: bearer.needsBody,
    hasCredential,
    challenge: challenges.challenge,
    ready,
  })
}

import {
  checkOptions,
  type KnownOptions,
  type Principal,
  type SecurityContext,
  type SecurityEventBus,
  securityEvents,
} from '@apiward/core'
import { ApiError, ServiceUnavailable } from '@apiward/errors'
import { errors, type JWK, type JWTPayload } from 'jose'
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, isJwtAlgorithm, type JwtAlgorithm } from './algorithms.js'
import { bearerSettings, isB64Token, type TokenLocation } from './bearer.js'
import { isThenable, misread, reportCallbackError, runValidate } from './callback.js'
import { type ClaimPolicy, claimsFailure, clockToleranceOf } from './claims.js'
import type { CredentialGuard } from './credential.js'
import { checkIssuerIdentifier, DiscoveredJwks, issuerMetadata } from './discovery.js'
import type { TokenFailureReason } from './errors.js'
import { RemoteJwks } from './jwks-remote.js'
import { decodeSegment, verifyWithKeys } from './jws.js'
import {
  jwksKeySource,
  type KeySource,
  type PublicKeyInput,
  publicKeySource,
  secretKeySource,
  type VerificationKey,
} from './key-source.js'
import { principalFromPayload } from './principal.js'
import {
  backgroundReport,
  checkRemoteUrl,
  type RemoteJwksOptions,
  type RemoteSettings,
  remoteSettings,
} from './remote.js'
import type { RevocationStore } from './revocation.js'
import { TokenCache } from './token-cache.js'

/** Where the keys of one issuer come from: exactly one of these. */
export interface JwtKeyOptions {
  /** URL of the issuer's JWK Set (`https:`; plain HTTP only on loopback). Fetched and cached. */
  jwksUri?: string | URL
  /** A local JWK Set (`{ keys: [...] }`), matched by `kid`. */
  jwks?: { keys: readonly JWK[] }
  /** One public key: PEM (`-----BEGIN PUBLIC KEY-----`), a `KeyObject` or a JWK. */
  publicKey?: PublicKeyInput
  /** A shared secret for HS256/384/512, at least as many random bytes as the hash (32 for HS256). */
  secret?: string | Uint8Array
  /**
   * `true`: find the keys through the issuer's metadata (RFC 8414, then OpenID Connect
   * Discovery): its `jwks_uri` is the JWK Set, fetched and cached as `jwksUri` is. The issuer
   * is the one configured (`issuer`, a single string), or the `issuers` entry's name. The
   * metadata's `issuer` must be identical to it (RFC 8414 section 3.3), so a server cannot
   * hand out another issuer's keys; it is fetched under the `jwksOptions` rules (timeout, size
   * cap, `https:` outside loopback, cooldown, the last good copy served while it is down).
   */
  discovery?: boolean
}

/** Options of {@link jwt}. */
export interface JwtOptions extends JwtKeyOptions {
  /**
   * Accepted `iss` values. Required: a token from another issuer is refused even when its
   * signature verifies (opt out only with `dangerouslyAllowAnyIssuer`).
   */
  issuer?: string | readonly string[]
  /**
   * Several issuers, each with its own keys: a map from `iss` to key options, or a resolver
   * called once per issuer (its answer is cached; `undefined` refuses the issuer). The token's
   * `iss` picks the keys, and is then verified like any claim.
   *
   * The resolver may return a promise (a tenant database, say), awaited once for all the
   * requests that wait on that issuer. A throw or rejection says nothing about the token: the
   * request gets 503 `auth.unavailable` with `Retry-After: 1`, `auth.error` is emitted and
   * nothing is cached, so the next token asks again. An answer that is not key options (or
   * `undefined`) refuses the issuer and emits `auth.error`.
   */
  issuers?:
    | Readonly<Record<string, JwtKeyOptions>>
    | ((issuer: string) => JwtKeyOptions | undefined | PromiseLike<JwtKeyOptions | undefined>)
  /**
   * Accepted `aud` values; a token passes when one of its audiences is one of these. Required
   * (opt out only with `dangerouslyAllowAnyAudience`): without it a token minted for another
   * API of the same issuer would pass.
   */
  audience?: string | readonly string[]
  /**
   * Allowed `alg` values. Default: derived from the key (`HS256` for a secret, the key's
   * family for a public key or local JWKS, every asymmetric algorithm for `jwksUri`). `none`
   * is never allowed, and a key only ever verifies algorithms of its own type.
   */
  algorithms?: readonly JwtAlgorithm[]
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. Default `5`, at most `30`. */
  clockTolerance?: number
  /** Refuse tokens whose `iat` is older than this many seconds (and tokens without `iat`). */
  maxTokenAge?: number
  /**
   * Refuse tokens whose lifetime, `exp - iat`, is longer than this many seconds, and tokens
   * without `iat` or `exp`. Default: unchecked. A leaked token works until its `exp`; this
   * bounds that window even when an issuer mints a token valid for years. Cannot be combined
   * with `dangerouslyAllowNoExpiry`.
   */
  maxTokenLifetime?: number
  /** Required `typ` header, e.g. `at+jwt` (RFC 9068); compared as RFC 8725 says. Default: unchecked. */
  typ?: string
  /** Claims that must be present besides `exp`, `iss`, `aud` and `sub`. */
  requiredClaims?: readonly string[]
  /**
   * A custom check of the verified payload, on every request (cached tokens included). Only
   * `true` accepts the token: `false`, any other answer (`undefined` too), a throw or a
   * rejection refuse it with the same 401 as any other invalid token (reason
   * `rejected_by_validate`), so a check that forgets to answer fails closed. A throw, a rejection
   * or an answer that is not a boolean also emits `auth.error`. A promise is awaited; a
   * synchronous answer keeps cache hits synchronous. Default: none.
   */
  validate?: (payload: JWTPayload, ctx: SecurityContext) => boolean | PromiseLike<boolean>
  /**
   * A revocation check of your own, on every request (cached tokens included), synchronous or
   * returning a promise (awaited). Only `false` lets the token through: `true` refuses it (401,
   * reason `revoked`), and so does any other answer, with an `auth.error` event. A throw or
   * rejection (the store is down) answers 503 `auth.unavailable` with `Retry-After: 1` and
   * emits `auth.error`: a revoked token never passes while the check cannot be made. An
   * `ApiError` it throws is answered as it is. Default: none.
   */
  isRevoked?: (payload: JWTPayload, ctx: SecurityContext) => boolean | PromiseLike<boolean>
  /**
   * A `jti` denylist: `memoryRevocationStore()` or `redisRevocationStore()`, or your own
   * `RevocationStore`, whose answers are read as those of `isRevoked`. Default: none.
   */
  revocation?: RevocationStore
  /**
   * Where tokens are looked for. Default `['header']` (the `Authorization` header). `'query'`
   * (`?access_token=`) leaks tokens into logs and history; `'body'` (form field
   * `access_token`) makes the guard wait for the body. A token in two places is a 400.
   */
  tokenLocations?: readonly TokenLocation[]
  /** `false` lets requests without a token through anonymously; a bad token is still a 401. Default `true`. */
  required?: boolean
  /** The `realm` of `WWW-Authenticate` challenges. Default `api`. */
  realm?: string
  /**
   * Cache of verified tokens (bounded, confirmed on the whole token): a repeated token skips the signature
   * check; expiry, `validate`, and revocation are checked on every hit. Default `{ max: 10000 }`;
   * `false` turns it off.
   */
  tokenCache?: false | { max?: number }
  /** Longest token accepted, in characters. Default `8192`. */
  maxTokenLength?: number
  /** Claim path of the principal's roles, e.g. `realm_access.roles`. Default `roles`. */
  rolesClaim?: string
  /** How a remote JWKS, and the issuer's metadata with `discovery`, are fetched and cached. */
  jwksOptions?: RemoteJwksOptions
  /**
   * Where the events of the remote JWKS and of discovery go (`jwks.refreshed`,
   * `jwks.refresh_failed`, `discovery.refreshed`, `discovery.refresh_failed`), which belong to
   * no request: through `report()`. Per-request events (`auth.success`, `auth.failure`) go to the bus of
   * the request's context, the adapter's. Default: `securityEvents`.
   */
  events?: SecurityEventBus
  /** Accept tokens from any issuer. Never for tokens whose keys you share with other issuers. */
  dangerouslyAllowAnyIssuer?: boolean
  /** Accept tokens minted for any audience. */
  dangerouslyAllowAnyAudience?: boolean
  /** Accept tokens without `exp`: such a token works forever once leaked. */
  dangerouslyAllowNoExpiry?: boolean
  /**
   * Accept a `jwksUri`, or with `discovery` an issuer and a `jwks_uri`, over plain HTTP on a
   * non-loopback host: anyone on the path could hand out their own keys.
   */
  dangerouslyAllowHttpJwks?: boolean
}

/** The verified token that the cache keeps. */
interface Verified {
  readonly principal: Principal
  readonly payload: JWTPayload
  /** `exp` in seconds, `Infinity` when absent. */
  readonly exp: number
  readonly iat: number | undefined
}

/** A {@link jwt} guard; `ready()` loads remote keys ahead of the first token. */
export interface JwtGuard extends CredentialGuard {
  /**
   * Fetches what the guard needs from the network (the issuer's metadata with `discovery`, the
   * remote JWK Set) unless it is loaded, so a deployment can fail at startup instead of on the
   * first request. Resolves at once for local keys and for an `issuers` resolver. Rejects with
   * an `Error` that names the URL and the cause; the guard keeps trying on later requests.
   *
   * @example
   * ```ts
   * const auth = jwt({ issuer: 'https://id.example.com/', discovery: true, audience })
   * await auth.ready() // before app.listen()
   * ```
   */
  ready(): Promise<void>
}

/** Every option, tied to the type: an option added to `JwtOptions` but not here does not compile. */
const OPTIONS: KnownOptions<JwtOptions> = {
  jwksUri: true,
  jwks: true,
  publicKey: true,
  secret: true,
  discovery: true,
  issuer: true,
  issuers: true,
  audience: true,
  algorithms: true,
  clockTolerance: true,
  maxTokenAge: true,
  maxTokenLifetime: true,
  typ: true,
  requiredClaims: true,
  validate: true,
  isRevoked: true,
  revocation: true,
  tokenLocations: true,
  required: true,
  realm: true,
  tokenCache: true,
  maxTokenLength: true,
  rolesClaim: true,
  jwksOptions: true,
  events: true,
  dangerouslyAllowAnyIssuer: true,
  dangerouslyAllowAnyAudience: true,
  dangerouslyAllowNoExpiry: true,
  dangerouslyAllowHttpJwks: true,
}
const MISTAKES: Readonly<Record<string, string>> = {
  issuerBaseURL: 'issuer, with discovery: true',
  jwksUrl: 'jwksUri',
  credentialsRequired: 'required',
}

/** Refusal of one token; `reason` goes to the security event, never to the client. */
class TokenRefused extends Error {
  constructor(readonly reason: TokenFailureReason) {
    super(reason)
  }
}

function fail(reason: TokenFailureReason): never {
  throw new TokenRefused(reason)
}

function reasonOf(err: unknown): TokenFailureReason {
  if (err instanceof TokenRefused) return err.reason
  if (err instanceof errors.JWTExpired) return err.claim === 'iat' ? 'too_old' : 'expired'
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return 'missing_claim'
    if (err.reason === 'invalid') return 'invalid_claim'
    if (err.claim === 'nbf') return 'not_yet_valid'
    if (err.claim === 'iat') return 'issued_in_future'
    if (err.claim === 'iss') return 'issuer_not_allowed'
    if (err.claim === 'aud') return 'audience_not_allowed'
    if (err.claim === 'typ') return 'wrong_type'
    return 'invalid_claim'
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature'
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm_not_allowed'
  return 'malformed'
}

function keyOptionsCount(o: JwtKeyOptions): number {
  return (
    Number(o.jwksUri !== undefined) +
    Number(o.jwks !== undefined) +
    Number(o.publicKey !== undefined) +
    Number(o.secret !== undefined) +
    Number(o.discovery !== undefined && o.discovery !== false)
  )
}

function list<T>(value: T | readonly T[] | undefined): T[] | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? [...(value as T[])] : [value as T]
}

/** Where `validate`'s failures are reported: the request gets the usual 401. */
const VALIDATE = { code: 'auth.invalid_token', credential: 'jwt', callback: 'validate' } as const

/**
 * The 503 of a dependency lookup (`isRevoked`, a revocation store, an issuer resolver) that
 * threw or rejected: it says nothing about the token, so the token is neither accepted nor
 * refused as invalid. The error goes to `auth.error` and stays the `cause`, never sent. An
 * `ApiError` the callback threw on purpose is answered as it is.
 */
function unavailable(ctx: SecurityContext, callback: string, err: unknown): ApiError {
  if (ApiError.is(err)) return err
  reportCallbackError(ctx, { code: 'auth.unavailable', credential: 'jwt', callback }, err)
  return new ServiceUnavailable({
    code: 'auth.unavailable',
    detail: 'The access token cannot be checked right now. Retry later.',
    retryAfter: 1,
    cause: err,
  })
}

/** The keys of the token's issuer; a promise while an asynchronous resolver is asked. */
type SourceFor = (
  iss: unknown,
  ctx: SecurityContext,
) => KeySource | undefined | Promise<KeySource | undefined>

const MAX_RESOLVED_ISSUERS = 1000

/**
 * Wraps an `issuers` resolver: each issuer is asked once and its answer cached (at most
 * {@link MAX_RESOLVED_ISSUERS}); requests for an issuer being resolved wait on the same promise;
 * a failure is not cached, so the next token asks again.
 */
function issuerResolver(
  resolve: (issuer: string) => unknown,
  buildSource: (keys: JwtKeyOptions, where: string, issuer: string) => KeySource,
): SourceFor {
  const resolved = new Map<string, KeySource | undefined>()
  const inFlight = new Map<string, Promise<KeySource | undefined>>()
  const remember = (iss: string, source: KeySource | undefined): KeySource | undefined => {
    if (resolved.size >= MAX_RESOLVED_ISSUERS) resolved.delete(resolved.keys().next().value as string)
    resolved.set(iss, source)
    return source
  }
  const sourceOf = (ctx: SecurityContext, iss: string, answer: unknown): KeySource | undefined => {
    if (answer === undefined) return undefined
    try {
      if (answer === null || typeof answer !== 'object')
        throw misread('issuers', answer, 'key options or undefined')
      return buildSource(answer as JwtKeyOptions, `issuers("${iss}")`, iss)
    } catch (err) {
      reportCallbackError(ctx, { code: 'auth.invalid_token', credential: 'jwt', callback: 'issuers' }, err)
      return undefined
    }
  }
  return (iss, ctx) => {
    if (typeof iss !== 'string' || iss.length > 512) return undefined
    if (resolved.has(iss)) return resolved.get(iss)
    const joined = inFlight.get(iss)
    if (joined !== undefined) {
      return joined.catch((err: unknown) => {
        throw unavailable(ctx, 'issuers', err)
      })
    }
    let answer: unknown
    try {
      answer = resolve(iss)
    } catch (err) {
      throw unavailable(ctx, 'issuers', err)
    }
    if (!isThenable(answer)) return remember(iss, sourceOf(ctx, iss, answer))
    const pending = Promise.resolve(answer).then((settled) => remember(iss, sourceOf(ctx, iss, settled)))
    inFlight.set(iss, pending)
    const done = () => inFlight.delete(iss)
    pending.then(done, done)
    return pending.catch((err: unknown) => {
      throw unavailable(ctx, 'issuers', err)
    })
  }
}

/**
 * Authenticates bearer JWTs (RFC 6750, RFC 7519, RFC 8725, RFC 9068): the token comes from the
 * `Authorization` header, its signature is verified with the issuer's keys (a remote JWKS,
 * local keys or a secret), and `iss`, `aud`, `exp`, `nbf`, `iat` are checked. The principal
 * (`sub`, scopes, roles, claims) becomes `req.auth` / `ctx.state.auth` / `request.auth`.
 *
 * Every refusal is the same 401 (`auth.invalid_token`, `WWW-Authenticate: Bearer ...,
 * error="invalid_token"`): the client never learns why; the `auth.failure` event does.
 *
 * @example
 * ```ts
 * const auth = jwt({
 *   jwksUri: 'https://id.example.com/.well-known/jwks.json',
 *   issuer: 'https://id.example.com/',
 *   audience: 'https://api.example.com',
 * })
 * app.get('/notes', guard(auth), (req, res) => res.json({ owner: req.auth?.id }))
 * ```
 */
export function jwt(options: JwtOptions): JwtGuard {
  checkOptions<JwtOptions>(options, 'jwt()', OPTIONS, MISTAKES, 'jwt({ jwksUri, issuer, audience })')
  const report = backgroundReport(options.events ?? securityEvents)
  const http = { allowed: options.dangerouslyAllowHttpJwks === true, option: 'dangerouslyAllowHttpJwks' }
  let remote: RemoteSettings | undefined
  const remoteJwks = (url: URL) => {
    remote ??= remoteSettings(options.jwksOptions, 'jwt(): jwksOptions')
    return new RemoteJwks(url, remote, report)
  }

  const explicitAlgorithms = options.algorithms === undefined ? undefined : [...options.algorithms]
  if (explicitAlgorithms !== undefined) {
    if (explicitAlgorithms.length === 0)
      throw new TypeError('jwt(): algorithms must list at least one algorithm.')
    for (const alg of explicitAlgorithms) {
      if (!isJwtAlgorithm(alg)) {
        throw new TypeError(
          `jwt(): algorithm ${JSON.stringify(alg)} is not supported. Use one of ${[...ASYMMETRIC_ALGORITHMS, 'HS256', 'HS384', 'HS512'].join(', ')}; "none" is never accepted.`,
        )
      }
    }
  }

  const buildSource = (keys: JwtKeyOptions, where: string, issuer: string | undefined): KeySource => {
    const count = keyOptionsCount(keys)
    if (count !== 1) {
      throw new TypeError(
        `jwt(): ${where} needs exactly one of jwksUri, jwks, publicKey, secret or discovery: true (got ${count === 0 ? 'none' : count}).`,
      )
    }
    if (keys.secret !== undefined) return secretKeySource(keys.secret, explicitAlgorithms ?? ['HS256'])
    if (explicitAlgorithms?.some((alg) => alg.startsWith('HS'))) {
      throw new TypeError(
        `jwt(): ${where}: HS* algorithms need a shared secret; with public keys a token signed with HS256 and the public key as secret would pass. Remove HS* from algorithms.`,
      )
    }
    if (keys.publicKey !== undefined) return publicKeySource(keys.publicKey)
    if (keys.jwks !== undefined) return jwksKeySource(keys.jwks)
    if (keys.jwksUri !== undefined) return remoteJwks(checkRemoteUrl(keys.jwksUri, 'jwt()', 'jwksUri', http))
    if (keys.discovery !== true) {
      throw new TypeError(
        `jwt(): ${where}: discovery is true (find the keys in the issuer's metadata) or absent.`,
      )
    }
    if (issuer === undefined) {
      throw new TypeError(
        'jwt(): discovery needs the one issuer whose metadata to read: set issuer to a single string, e.g. "https://id.example.com/".',
      )
    }
    const url = checkIssuerIdentifier(issuer, 'jwt()', http)
    remote ??= remoteSettings(options.jwksOptions, 'jwt(): jwksOptions')
    const metadata = issuerMetadata(url, issuer, ['jwks_uri'], remote, report, http.allowed)
    return new DiscoveredJwks(metadata, issuer, remoteJwks)
  }

  let singleSource: KeySource | undefined
  let staticSources: Map<string, KeySource> | undefined
  let sourceFor: SourceFor | undefined
  let issuers: string[] | undefined = list(options.issuer)
  if (options.issuers !== undefined) {
    if (keyOptionsCount(options) > 0) {
      throw new TypeError(
        'jwt(): give keys either per issuer in `issuers` or once (jwksUri/jwks/publicKey/secret), not both.',
      )
    }
    if (typeof options.issuers === 'function') sourceFor = issuerResolver(options.issuers, buildSource)
    else {
      const map = options.issuers
      const names = Object.keys(map)
      if (names.length === 0)
        throw new TypeError('jwt(): issuers is empty; list at least one issuer and its keys.')
      const resolved = new Map<string, KeySource>()
      staticSources = resolved
      for (const name of names) resolved.set(name, buildSource(map[name]!, `issuers["${name}"]`, name))
      sourceFor = (iss) => (typeof iss === 'string' ? resolved.get(iss) : undefined)
      issuers ??= names
    }
  } else if (keyOptionsCount(options) === 0) {
    throw new TypeError(
      "jwt(): say where the keys are: jwksUri (your identity provider's JWKS URL), discovery: true (read it from the issuer's metadata), jwks, publicKey or secret.",
    )
  } else {
    const single = typeof options.issuer === 'string' ? options.issuer : undefined
    singleSource = buildSource(options, 'options', single)
  }

  const dynamicIssuers = typeof options.issuers === 'function'
  if (issuers === undefined && !dynamicIssuers && options.dangerouslyAllowAnyIssuer !== true) {
    throw new TypeError(
      'jwt(): issuer is required (the `iss` your identity provider puts in its tokens, e.g. "https://id.example.com/"). Opt out only with dangerouslyAllowAnyIssuer: true.',
    )
  }
  const audience = list(options.audience)
  if (audience === undefined && options.dangerouslyAllowAnyAudience !== true) {
    throw new TypeError(
      'jwt(): audience is required (the `aud` your API is known by, e.g. "https://api.example.com"); without it tokens minted for other APIs pass. Opt out only with dangerouslyAllowAnyAudience: true.',
    )
  }
  const clockTolerance = clockToleranceOf(options.clockTolerance, 'jwt()')
  const maxTokenAge = options.maxTokenAge
  if (maxTokenAge !== undefined && (!Number.isFinite(maxTokenAge) || maxTokenAge <= 0)) {
    throw new TypeError('jwt(): maxTokenAge is a positive number of seconds.')
  }
  const maxTokenLifetime = options.maxTokenLifetime
  if (maxTokenLifetime !== undefined) {
    if (!Number.isFinite(maxTokenLifetime) || maxTokenLifetime <= 0) {
      throw new TypeError('jwt(): maxTokenLifetime is a positive number of seconds (the longest exp - iat).')
    }
    if (options.dangerouslyAllowNoExpiry === true) {
      throw new TypeError(
        'jwt(): maxTokenLifetime bounds exp - iat, so it refuses every token without exp; drop it or dangerouslyAllowNoExpiry.',
      )
    }
  }
  const { extract, challenges, required, maxTokenLength, needsBody, missingToken } = bearerSettings(
    options,
    'jwt()',
    'jwt',
  )
  const cacheOption = options.tokenCache ?? {}
  const cacheMax = cacheOption === false ? 0 : (cacheOption.max ?? 10_000)
  if (!Number.isInteger(cacheMax) || cacheMax < 0) {
    throw new TypeError('jwt(): tokenCache.max is a positive integer (or set tokenCache: false).')
  }
  const cache = cacheMax > 0 ? new TokenCache<Verified>(cacheMax) : undefined
  const rolesClaim = options.rolesClaim ?? 'roles'
  const { validate, isRevoked, revocation } = options
  const requiredClaims = ['sub', ...(options.requiredClaims ?? [])]
  if (options.dangerouslyAllowNoExpiry !== true) requiredClaims.push('exp')
  if (maxTokenAge !== undefined || maxTokenLifetime !== undefined) requiredClaims.push('iat')
  const claimPolicy: ClaimPolicy = { clockTolerance, maxTokenLifetime, rolesClaim }
  // With several issuers, each issuer's keys narrow the list further (see verifyToken).
  const allowed = new Set<string>(
    explicitAlgorithms ?? singleSource?.algorithms ?? [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS],
  )
  if (allowed.size === 0)
    throw new TypeError('jwt(): the key fits none of the supported algorithms; set algorithms.')

  const refuse = (ctx: SecurityContext, reason: TokenFailureReason): ApiError => {
    ctx.emit('auth.failure', { severity: 'warn', code: 'auth.invalid_token', credential: 'jwt', reason })
    return challenges.invalidToken()
  }

  const refusedByValidate = (ctx: SecurityContext) => refuse(ctx, 'rejected_by_validate')

  /** Checks that apply on every request, cached or not. Returns a promise only when a callback does. */
  const accept = (ctx: SecurityContext, verified: Verified): void | Promise<void> => {
    if (validate === undefined) return checkRevocation(ctx, verified)
    const validated = runValidate(ctx, validate, verified.payload, VALIDATE, refusedByValidate)
    if (validated === undefined) return checkRevocation(ctx, verified)
    return validated.then(() => checkRevocation(ctx, verified))
  }

  /**
   * Asks the revocation store and `isRevoked` (at the same time when both are asynchronous).
   * A definite "revoked" from either decides; otherwise a failed check is a 503.
   */
  const checkRevocation = (ctx: SecurityContext, verified: Verified): void | Promise<void> => {
    const { payload } = verified
    let fromStore: boolean | Promise<boolean> = false
    if (revocation !== undefined && payload.jti !== undefined) {
      let answer: unknown
      try {
        answer = revocation.isRevoked(payload.jti)
      } catch (err) {
        answer = Promise.reject(err)
      }
      fromStore = readRevocation(ctx, 'revocation.isRevoked', answer)
      if (fromStore === true) throw refuse(ctx, 'revoked')
    }
    let fromCallback: boolean | Promise<boolean> = false
    if (isRevoked !== undefined) {
      let answer: unknown
      try {
        answer = isRevoked(payload, ctx)
      } catch (err) {
        answer = Promise.reject(err)
      }
      fromCallback = readRevocation(ctx, 'isRevoked', answer)
      if (fromCallback === true) {
        // The store may still fail after this answer; its failure must not go unhandled.
        if (fromStore instanceof Promise) fromStore.catch(() => {})
        throw refuse(ctx, 'revoked')
      }
    }
    if (fromStore === false && fromCallback === false) return grant(ctx, verified)
    return Promise.allSettled([fromStore, fromCallback]).then((results) => {
      if (results.some((r) => r.status === 'fulfilled' && r.value)) throw refuse(ctx, 'revoked')
      const failed = results.find((r) => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      grant(ctx, verified)
    })
  }

  /**
   * Reads one revocation answer: `true` when the token counts as revoked, a promise of that when
   * the answer is one. A rejection becomes the 503 of an unavailable dependency.
   */
  const readRevocation = (
    ctx: SecurityContext,
    callback: string,
    answer: unknown,
  ): boolean | Promise<boolean> => {
    if (!isThenable(answer)) return revokedAnswer(ctx, callback, answer)
    return Promise.resolve(answer).then(
      (settled) => revokedAnswer(ctx, callback, settled),
      (err: unknown) => {
        throw unavailable(ctx, callback, err)
      },
    )
  }

  /** Only `false` means "not revoked": any other answer refuses, and one that is not a boolean is reported. */
  const revokedAnswer = (ctx: SecurityContext, callback: string, answer: unknown): boolean => {
    if (answer === false) return false
    if (answer !== true) {
      reportCallbackError(
        ctx,
        { code: 'auth.invalid_token', credential: 'jwt', callback },
        misread(callback, answer, 'true or false'),
      )
    }
    return true
  }

  const grant = (ctx: SecurityContext, verified: Verified): void => {
    ctx.principal = verified.principal
    ctx.emit('auth.success', { credential: 'jwt' })
  }

  const stillValid = (verified: Verified, now: number): boolean =>
    verified.exp + clockTolerance > now &&
    (maxTokenAge === undefined || (verified.iat as number) + maxTokenAge + clockTolerance > now)

  const verify = async (ctx: SecurityContext, token: string): Promise<void> => {
    let verified: Verified
    try {
      verified = await verifyToken(ctx, token)
    } catch (err) {
      if (ApiError.is(err)) throw err
      throw refuse(ctx, reasonOf(err))
    }
    cache?.set(token, verified)
    return accept(ctx, verified)
  }

  const verifyToken = async (ctx: SecurityContext, token: string): Promise<Verified> => {
    if (token.length > maxTokenLength) fail('too_long')
    const firstDot = token.indexOf('.')
    const dots = token.split('.').length - 1
    if (dots === 4) fail('encrypted')
    if (dots !== 2 || firstDot < 1) fail('malformed')
    const header = decodeSegment(token.slice(0, firstDot))
    if (header === undefined) fail('malformed')
    const alg = header.alg
    if (!isJwtAlgorithm(alg) || !allowed.has(alg)) fail('algorithm_not_allowed')
    // No critical extension is understood here, and b64:false changes what is signed.
    if (header.crit !== undefined || header.b64 !== undefined) fail('unsupported_header')
    const kid = header.kid
    if (kid !== undefined && (typeof kid !== 'string' || kid.length > 256)) fail('malformed')

    let source = singleSource
    if (source === undefined) {
      const secondDot = token.indexOf('.', firstDot + 1)
      const found = sourceFor!(decodeSegment(token.slice(firstDot + 1, secondDot))?.iss, ctx)
      source = isThenable(found) ? await found : found
      if (source === undefined) fail('issuer_not_allowed')
    }
    if (explicitAlgorithms === undefined && !source.algorithms.includes(alg)) fail('algorithm_not_allowed')
    const found = source.candidates(alg, kid)
    const keys: readonly VerificationKey[] = Array.isArray(found) ? found : await found
    if (keys.length === 0) fail(source.loaded === false ? 'keys_unavailable' : 'unknown_key')
    const payload = await verifyWithKeys(token, keys, alg, {
      issuer: issuers,
      audience,
      clockTolerance,
      maxTokenAge,
      typ: options.typ,
      requiredClaims,
    })
    const refused = claimsFailure(payload, claimPolicy, Date.now() / 1000)
    if (refused !== undefined) fail(refused)
    return {
      payload,
      principal: principalFromPayload(payload, { rolesClaim }),
      exp: payload.exp ?? Number.POSITIVE_INFINITY,
      iat: payload.iat,
    }
  }

  const guard = (ctx: SecurityContext): void | Promise<void> => {
    const token = extract(ctx.req)
    if (token === undefined) {
      if (!required) return
      throw missingToken(ctx)
    }
    if (cache !== undefined) {
      const hit = cache.get(token)
      if (hit !== undefined) {
        if (stillValid(hit, Date.now() / 1000)) return accept(ctx, hit)
        cache.delete(token)
        throw refuse(ctx, 'expired')
      }
    }
    if (!isB64Token(token)) throw challenges.invalidRequest('The bearer token is missing or malformed.')
    return verify(ctx, token)
  }

  const sources = singleSource === undefined ? [...(staticSources?.values() ?? [])] : [singleSource]
  const ready = async (): Promise<void> => {
    const failed = (await Promise.allSettled(sources.map((source) => source.ready?.()))).find(
      (r) => r.status === 'rejected',
    )
    if (failed !== undefined) throw new Error(`jwt(): ${(failed.reason as Error).message}`)
  }

  return Object.assign(guard, {
    guardName: 'jwt',
    kind: 'authentication' as const,
    settings: Object.freeze({
      issuer: options.issuer ?? (options.issuers === undefined ? undefined : 'several'),
      audience: options.audience,
      algorithms: options.algorithms,
      required: options.required !== false,
    }),
    needsBody,
    hasCredential: extract.present,
    challenge: challenges.challenge,
    ready,
  })
}

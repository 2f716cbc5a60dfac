import {
  checkOptions,
  type KnownOptions,
  type SecurityContext,
  type SecurityEventBus,
  securityEvents,
  warnOnce,
} from '@apiward/core'
import type { JWK, JWTPayload } from 'jose'
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, isJwtAlgorithm, type JwtAlgorithm } from './algorithms.js'
import { type BearerSettings, bearerSettings, type TokenLocation } from './bearer.js'
import { type BindingOptions, type TokenBinding, tokenBinding } from './binding.js'
import { type ClaimPolicy, clockToleranceOf } from './claims.js'
import { type JwtKeys, jwtKeys } from './jwt-issuers.js'
import type { PublicKeyInput } from './key-source.js'
import { backgroundReport, type RemoteJwksOptions, type RemoteReport } from './remote.js'
import type { RevocationStore } from './revocation.js'

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
export interface JwtOptions extends JwtKeyOptions, BindingOptions {
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
   * A check of your own on the verified payload, on every request (cached tokens included). Only
   * `true` accepts the token: `false`, any other answer (`undefined` too), a throw or a
   * rejection refuse it with the same 401 as any other invalid token (reason
   * `rejected_by_validate`), so a check that forgets to answer fails closed. A throw, a rejection
   * or an answer that is not a boolean also emits `auth.error`. A promise is awaited; a
   * synchronous answer keeps cache hits synchronous. Default: none.
   *
   * @example
   * ```ts
   * jwt({ jwksUri, issuer, audience, verifyClaims: (payload) => payload.tenant === 'acme' })
   * ```
   */
  verifyClaims?: (payload: JWTPayload, ctx: SecurityContext) => boolean | PromiseLike<boolean>
  /**
   * @deprecated Renamed `verifyClaims` (the old name read as `@apiward/validate`'s `validate()`).
   * Still honoured, with a one-time warning; giving both is a startup error.
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

/** Every option, tied to the type: an option added to `JwtOptions` but not here does not compile. */
export const JWT_OPTIONS: KnownOptions<JwtOptions> = {
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
  verifyClaims: true,
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
  dpop: true,
  certificateBinding: true,
}

/** Names other libraries use, and what they are called here. */
export const JWT_MISTAKES: Readonly<Record<string, string>> = {
  issuerBaseURL: 'issuer, with discovery: true',
  jwksUrl: 'jwksUri',
  credentialsRequired: 'required',
}

/** A payload check: `verifyClaims`, `isRevoked`. */
export type PayloadCheck = (payload: JWTPayload, ctx: SecurityContext) => unknown

/**
 * The options of {@link jwt}, checked once at build time; the guard reads only this. A new option
 * is added to `JwtOptions` and `JWT_OPTIONS`, checked in `parseJwtOptions()`, and lands here.
 */
export interface JwtConfiguration {
  /** Where the keys of a token's issuer are found. */
  readonly keys: JwtKeys
  /** The `algorithms` option, when given: each issuer's keys then do not narrow it. */
  readonly explicitAlgorithms: readonly JwtAlgorithm[] | undefined
  /** Every `alg` a token may have before its issuer's keys are known. */
  readonly allowed: ReadonlySet<string>
  /** Accepted `iss` values; `undefined` with `dangerouslyAllowAnyIssuer` or an `issuers` resolver. */
  readonly issuers: readonly string[] | undefined
  /** Accepted `aud` values; `undefined` with `dangerouslyAllowAnyAudience`. */
  readonly audience: readonly string[] | undefined
  readonly clockTolerance: number
  readonly maxTokenAge: number | undefined
  readonly typ: string | undefined
  /** Claims that must be present (`sub`, `exp` unless no expiry is allowed, `iat` when its age or lifetime is bounded). */
  readonly requiredClaims: readonly string[]
  readonly claimPolicy: ClaimPolicy
  readonly rolesClaim: string
  readonly bearer: BearerSettings
  /** The token's binding to the request (`cnf`: DPoP, a client certificate), checked last. */
  readonly binding: TokenBinding
  /** Entries of the verified-token cache, `0` when it is off. */
  readonly cacheMax: number
  readonly verifyClaims: PayloadCheck | undefined
  /** The option `verifyClaims` came from (its deprecated name `validate`, or its own), for `auth.error`. */
  readonly verifyClaimsName: 'verifyClaims' | 'validate'
  readonly isRevoked: PayloadCheck | undefined
  readonly revocation: RevocationStore | undefined
  /** Where background events (JWKS and discovery refreshes) go. */
  readonly report: RemoteReport
  /** What `describeGuards()` shows. */
  readonly settings: Readonly<Record<string, unknown>>
}

function list<T>(value: T | readonly T[] | undefined): T[] | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? [...(value as T[])] : [value as T]
}

const SUPPORTED = [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS]

function algorithmsOption(value: unknown): JwtAlgorithm[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0)
    throw new TypeError('jwt(): algorithms must list at least one algorithm.')
  for (const alg of value) {
    if (!isJwtAlgorithm(alg)) {
      throw new TypeError(
        `jwt(): algorithm ${JSON.stringify(alg)} is not supported. Use one of ${SUPPORTED.join(', ')}; "none" is never accepted.`,
      )
    }
  }
  return [...value]
}

/** The payload check of `verifyClaims`, or of its deprecated name `validate`. */
function verifyClaimsOption(options: JwtOptions): PayloadCheck | undefined {
  if (options.validate === undefined) return options.verifyClaims
  if (options.verifyClaims !== undefined) {
    throw new TypeError('jwt(): validate is the old name of verifyClaims; give only verifyClaims.')
  }
  warnOnce(
    'APIWARD_JWT_VALIDATE_RENAMED',
    'jwt(): the validate option is now called verifyClaims; validate still works but will be removed.',
    'auth.md#callbacks',
  )
  return options.validate
}

/**
 * Checks the options of {@link jwt} once, at build time: unknown names, every value, the
 * combinations that cannot work. A mistake throws a `TypeError` that names the option and the fix.
 */
export function parseJwtOptions(options: JwtOptions): JwtConfiguration {
  checkOptions<JwtOptions>(options, 'jwt()', JWT_OPTIONS, JWT_MISTAKES, 'jwt({ jwksUri, issuer, audience })')
  const report = backgroundReport(options.events ?? securityEvents)
  const explicitAlgorithms = algorithmsOption(options.algorithms)
  const keys = jwtKeys(options, explicitAlgorithms, report)
  const issuers = list(options.issuer) ?? keys.issuerNames
  if (issuers === undefined && !keys.dynamic && options.dangerouslyAllowAnyIssuer !== true) {
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
  const binding = tokenBinding(options, 'jwt()', 'jwt')
  const bearer = binding.bearer(bearerSettings(options, 'jwt()', 'jwt', binding.challenge))
  const cacheOption = options.tokenCache ?? {}
  const cacheMax = cacheOption === false ? 0 : (cacheOption.max ?? 10_000)
  if (!Number.isInteger(cacheMax) || cacheMax < 0) {
    throw new TypeError('jwt(): tokenCache.max is a positive integer (or set tokenCache: false).')
  }
  const rolesClaim = options.rolesClaim ?? 'roles'
  const requiredClaims = ['sub', ...(options.requiredClaims ?? [])]
  if (options.dangerouslyAllowNoExpiry !== true) requiredClaims.push('exp')
  if (maxTokenAge !== undefined || maxTokenLifetime !== undefined) requiredClaims.push('iat')
  // With several issuers, each issuer's keys narrow the list further (see verifyToken).
  const allowed = new Set<string>(explicitAlgorithms ?? keys.single?.algorithms ?? SUPPORTED)
  if (allowed.size === 0)
    throw new TypeError('jwt(): the key fits none of the supported algorithms; set algorithms.')
  return {
    keys,
    explicitAlgorithms,
    allowed,
    issuers,
    audience,
    clockTolerance,
    maxTokenAge,
    typ: options.typ,
    requiredClaims,
    claimPolicy: { clockTolerance, maxTokenLifetime, rolesClaim },
    rolesClaim,
    bearer,
    binding,
    cacheMax,
    verifyClaims: verifyClaimsOption(options),
    verifyClaimsName: options.validate === undefined ? 'verifyClaims' : 'validate',
    isRevoked: options.isRevoked,
    revocation: options.revocation,
    report,
    settings: Object.freeze({
      issuer: options.issuer ?? (options.issuers === undefined ? undefined : 'several'),
      audience: options.audience,
      algorithms: options.algorithms,
      required: options.required !== false,
    }),
  }
}

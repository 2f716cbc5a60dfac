import {
  booleanOption,
  checkOptions,
  functionOption,
  type KnownOptions,
  type SecurityContext,
  type SecurityEventBus,
  securityEvents,
  warnOnce,
} from '@apiward/core'
import type { JWK, JWTPayload } from 'jose'
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, isJwtAlgorithm, type JwtAlgorithm } from './algorithms.js'
import { type BearerSettings, bearerSettings, type TokenExtractor, type TokenLocation } from './bearer.js'
import { type BindingOptions, type TokenBinding, tokenBinding } from './binding.js'
import { type ClaimPolicy, clockToleranceOf } from './claims.js'
import type { TokenFailureReason } from './errors.js'
import { type JwtLogger, jwtDiagnostics, type RefusalDetail } from './jwt-diagnostics.js'
import { type JwtKeys, jwtKeys } from './jwt-issuers.js'
import type { PublicKeyInput } from './key-source.js'
import { backgroundReport, type RemoteJwksOptions, type RemoteReport, remoteSettings } from './remote.js'
import type { RevocationStore } from './revocation.js'
import { warnIfMilliseconds } from './seconds.js'

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
   * `access_token`) makes the guard wait for the body; `'cookie'` reads the cookie named by
   * `cookie` (see there for its CSRF exposure). A token in two places is a 400.
   */
  tokenLocations?: readonly TokenLocation[]
  /**
   * The name of the cookie that carries the token, read when `tokenLocations` lists `'cookie'`
   * (and refused otherwise: a cookie never quietly joins the header). Default: none, cookies are
   * not read. A browser sends cookies on cross-site requests too, so a cookie-borne token makes
   * the API open to cross-site request forgery: set the cookie `HttpOnly; Secure;
   * SameSite=Strict` (or `Lax` and only safe methods), and check `Origin` or a CSRF token on
   * every state-changing route. A cookie sent twice (cookie tossing) is a 400, and with
   * `['header', 'cookie']` a token in both places is a 400 too: exactly one token, in one place.
   *
   * @example
   * ```ts
   * jwt({ jwksUri, issuer, audience, tokenLocations: ['cookie'], cookie: '__Host-access_token' })
   * ```
   */
  cookie?: string
  /**
   * Finds the token yourself (a custom header, a signed cookie your framework decoded), instead
   * of `tokenLocations` and `cookie` (giving either with it is a startup error). It receives the
   * `SecurityRequest` (`req.header()`, `req.query`; not the body) and answers the token or
   * `undefined`. The token is still checked against the `b64token` grammar and verified like any
   * other; a throw or an answer that is not a string is a 400 `invalid_request`, an `ApiError` it
   * throws is answered as it is. Default: none.
   *
   * @example
   * ```ts
   * jwt({ jwksUri, issuer, audience, extractToken: (req) => req.header('x-access-token') })
   * ```
   */
  extractToken?: TokenExtractor
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
   * Receives the diagnostics of refusals that point at the configuration rather than at the
   * token (issuer or audience not accepted, keys unavailable, an algorithm the keys do not
   * allow, an unknown `kid`, a wrong `typ`, unusable keys): each reason once, with the expected
   * and the received values, never the token. Default: one `console.warn` line per reason and
   * process, through core's `warnOnce()` (route it with `configureWarnings()`); `false` turns
   * them off. The client gets the same 401 either way.
   */
  logger?: JwtLogger | false
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
  cookie: true,
  extractToken: true,
  required: true,
  realm: true,
  tokenCache: true,
  maxTokenLength: true,
  rolesClaim: true,
  jwksOptions: true,
  logger: true,
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
  // express-oauth2-jwt-bearer
  issuerBaseURL: 'issuer, with discovery: true',
  tokenSigningAlg: 'algorithms',
  // jwks-rsa, express-jwt, koa-jwt
  jwksUrl: 'jwksUri',
  jwksURI: 'jwksUri',
  credentialsRequired: 'required',
  passthrough: 'required: false',
  getToken: 'extractToken (it receives the SecurityRequest: req.header(), req.query)',
  requestProperty: 'none: the principal is req.auth / ctx.state.auth / request.auth',
  key: 'none: the principal is ctx.state.auth',
  tokenKey: 'none: the token is never stored on the request',
  ignoreExpiration: 'dangerouslyAllowNoExpiry (an expired token is never accepted)',
  maxAge: 'maxTokenAge (in seconds)',
  clockTimestamp: 'none: the clock is the system clock, with clockTolerance',
  debug: 'logger',
  // @fastify/jwt
  verify: 'the options themselves: issuer, audience, algorithms, maxTokenAge, clockTolerance',
  allowedIss: 'issuer',
  allowedAud: 'audience',
  decode: 'none: only verified tokens are read',
  formatUser: 'none: the principal is built from sub, scope and rolesClaim',
  messages: 'none: every refusal is the same RFC 6750 answer',
  trusted: 'isRevoked',
  decoratorName: 'none: the principal is request.auth',
  // others
  audiences: 'audience',
  roles: 'rolesClaim',
  rolesPath: 'rolesClaim',
  unless: 'none: mount the guard on the routes it protects',
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
  /** Logs a configuration-like refusal once per reason (the `logger` option). */
  readonly diagnose: (reason: TokenFailureReason, detail: RefusalDetail | undefined) => void
  /** Where background events (JWKS and discovery refreshes) go. */
  readonly report: RemoteReport
  /** What `describeGuards()` shows. */
  readonly settings: Readonly<Record<string, unknown>>
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
  const shape = '(payload, ctx) => boolean'
  if (options.validate === undefined)
    return functionOption(options.verifyClaims, 'verifyClaims', 'jwt()', shape)
  if (options.verifyClaims !== undefined) {
    throw new TypeError('jwt(): validate is the old name of verifyClaims; give only verifyClaims.')
  }
  warnOnce(
    'APIWARD_JWT_VALIDATE_RENAMED',
    'jwt(): the validate option is now called verifyClaims; validate still works but will be removed.',
    'auth.md#callbacks',
  )
  return functionOption(options.validate, 'validate', 'jwt()', shape)
}

const TOKEN_CACHE_OPTIONS: KnownOptions<{ max?: number }> = { max: true }

/** A list of non-empty strings (`issuer`, `audience`, `requiredClaims`), or `undefined`. */
function stringList(value: unknown, name: string, example: string): string[] | undefined {
  if (value === undefined) return undefined
  const values = Array.isArray(value) ? value : [value]
  if (values.length === 0 || values.some((v) => typeof v !== 'string' || v === '')) {
    throw new TypeError(`jwt(): ${name} is a non-empty string or a list of them, e.g. ${example}.`)
  }
  return [...values] as string[]
}

/**
 * An issuer identifier that is an http(s) URL has no query, no fragment (RFC 8414 section 2)
 * and no userinfo (deprecated in http(s) URIs, RFC 9110 section 4.2.4): such an `iss` is a
 * configuration mistake, and with discovery it would build the wrong metadata URL.
 */
function checkIssuerUrl(issuer: string, name: string): void {
  if (!/^https?:\/\//i.test(issuer)) return
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    throw new TypeError(`jwt(): ${name} ${JSON.stringify(issuer)} is not a valid URL.`)
  }
  const problem =
    url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#')
      ? 'a query or fragment'
      : url.username !== '' || url.password !== ''
        ? 'userinfo (user:password@)'
        : undefined
  if (problem !== undefined) {
    throw new TypeError(
      `jwt(): ${name} ${JSON.stringify(issuer)} has ${problem}; an issuer identifier has none (RFC 8414 section 2, RFC 9110 section 4.2.4). Use the exact iss of your tokens, e.g. "https://id.example.com/".`,
    )
  }
}

function positiveSeconds(value: unknown, name: string, detail: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(
      `jwt(): ${name} is a positive number of seconds${detail}, got ${JSON.stringify(value)}.`,
    )
  }
  warnIfMilliseconds(value, 'jwt()', name)
  return value
}

function secretMistake(secret: unknown): void {
  if (typeof secret === 'function') {
    throw new TypeError(
      'jwt(): secret is a shared secret (string or bytes); for keys looked up per token use jwksUri (the JWKS URL), or issuers for several issuers.',
    )
  }
  if (secret !== null && typeof secret === 'object' && ('public' in secret || 'private' in secret)) {
    throw new TypeError(
      'jwt(): secret is a shared secret; pass a public key as publicKey (never the private key).',
    )
  }
}

function cacheMaxOf(option: unknown): number {
  if (option === false) return 0
  if (option === undefined) return 10_000
  checkOptions<{ max?: number }>(option, 'jwt(): tokenCache', TOKEN_CACHE_OPTIONS, {}, '{ max: 10000 }')
  const max = option.max ?? 10_000
  if (!Number.isInteger(max) || max < 1) {
    throw new TypeError('jwt(): tokenCache.max is a positive integer (or set tokenCache: false).')
  }
  return max
}

function revocationOption(store: unknown): RevocationStore | undefined {
  if (store === undefined) return undefined
  const s = store as Partial<RevocationStore> | null
  if (typeof s?.isRevoked !== 'function' || typeof s.revoke !== 'function') {
    throw new TypeError(
      'jwt(): revocation is a RevocationStore with isRevoked(jti) and revoke(jti, expiresAt), e.g. memoryRevocationStore().',
    )
  }
  return store as RevocationStore
}

function loggerOption(logger: unknown): JwtLogger | false | undefined {
  if (logger === false) return false
  return functionOption<JwtLogger>(logger, 'logger', 'jwt()', '(diagnostic) => void, or false')
}

/**
 * Checks the options of {@link jwt} once, at build time: unknown names, every value, the
 * combinations that cannot work. A mistake throws a `TypeError` that names the option and the fix.
 */
export function parseJwtOptions(options: JwtOptions): JwtConfiguration {
  checkOptions<JwtOptions>(options, 'jwt()', JWT_OPTIONS, JWT_MISTAKES, 'jwt({ jwksUri, issuer, audience })')
  const where = 'jwt()'
  const events = options.events ?? securityEvents
  if (typeof (events as Partial<SecurityEventBus>)?.report !== 'function') {
    throw new TypeError('jwt(): events is a SecurityEventBus (default: securityEvents from @apiward/core).')
  }
  for (const name of [
    'dangerouslyAllowAnyIssuer',
    'dangerouslyAllowAnyAudience',
    'dangerouslyAllowNoExpiry',
    'dangerouslyAllowHttpJwks',
  ] as const) {
    booleanOption(options[name], name, where, false)
  }
  secretMistake(options.secret)
  // Checked even when no remote key needs them yet: a mistake must not wait for the first fetch.
  if (options.jwksOptions !== undefined) remoteSettings(options.jwksOptions, 'jwt(): jwksOptions')
  if (options.issuer !== undefined && options.issuers !== undefined) {
    throw new TypeError(
      'jwt(): give issuer (one issuer, or a list sharing these keys) or issuers (keys per issuer), not both: the names of issuers are the accepted issuers.',
    )
  }
  if (
    options.issuers !== undefined &&
    typeof options.issuers !== 'function' &&
    (options.issuers === null || typeof options.issuers !== 'object' || Array.isArray(options.issuers))
  ) {
    throw new TypeError(
      'jwt(): issuers maps each issuer to its keys ({ "https://a.example/": { jwksUri } }) or is a function (iss) => key options.',
    )
  }
  const issuerList = stringList(options.issuer, 'issuer', '"https://id.example.com/"')
  for (const issuer of issuerList ?? []) checkIssuerUrl(issuer, 'issuer')
  if (options.issuers !== undefined && typeof options.issuers !== 'function') {
    for (const name of Object.keys(options.issuers)) checkIssuerUrl(name, `issuers key`)
  }
  const report = backgroundReport(events)
  const explicitAlgorithms = algorithmsOption(options.algorithms)
  const keys = jwtKeys(options, explicitAlgorithms, report)
  const issuers = issuerList ?? keys.issuerNames
  if (issuers === undefined && !keys.dynamic && options.dangerouslyAllowAnyIssuer !== true) {
    throw new TypeError(
      'jwt(): issuer is required (the `iss` your identity provider puts in its tokens, e.g. "https://id.example.com/"). Opt out only with dangerouslyAllowAnyIssuer: true.',
    )
  }
  const audience = stringList(options.audience, 'audience', '"https://api.example.com"')
  if (audience === undefined && options.dangerouslyAllowAnyAudience !== true) {
    throw new TypeError(
      'jwt(): audience is required (the `aud` your API is known by, e.g. "https://api.example.com"); without it tokens minted for other APIs pass. Opt out only with dangerouslyAllowAnyAudience: true.',
    )
  }
  const clockTolerance = clockToleranceOf(options.clockTolerance, 'jwt()')
  const maxTokenAge = positiveSeconds(options.maxTokenAge, 'maxTokenAge', ' (the oldest iat accepted)')
  const maxTokenLifetime = positiveSeconds(
    options.maxTokenLifetime,
    'maxTokenLifetime',
    ' (the longest exp - iat)',
  )
  if (maxTokenLifetime !== undefined && options.dangerouslyAllowNoExpiry === true) {
    throw new TypeError(
      'jwt(): maxTokenLifetime bounds exp - iat, so it refuses every token without exp; drop it or dangerouslyAllowNoExpiry.',
    )
  }
  if (options.typ !== undefined && (typeof options.typ !== 'string' || options.typ === '')) {
    throw new TypeError(
      `jwt(): typ is the required typ header, a string such as 'at+jwt'; got ${JSON.stringify(options.typ)}.`,
    )
  }
  const rolesClaim = options.rolesClaim ?? 'roles'
  if (typeof rolesClaim !== 'string' || rolesClaim === '') {
    throw new TypeError(
      `jwt(): rolesClaim is the claim path of the roles, a string such as 'roles' or 'realm_access.roles'; got ${JSON.stringify(rolesClaim)}.`,
    )
  }
  const extraClaims = stringList(options.requiredClaims ?? undefined, 'requiredClaims', "['tenant']") ?? []
  const isRevoked = functionOption<PayloadCheck>(
    options.isRevoked,
    'isRevoked',
    where,
    '(payload, ctx) => boolean',
  )
  const verifyClaims = verifyClaimsOption(options)
  const binding = tokenBinding(options, 'jwt()', 'jwt')
  const bearer = binding.bearer(bearerSettings(options, 'jwt()', 'jwt', binding.challenge))
  const cacheMax = cacheMaxOf(options.tokenCache)
  const requiredClaims = ['sub', ...extraClaims]
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
    verifyClaims,
    verifyClaimsName: options.validate === undefined ? 'verifyClaims' : 'validate',
    isRevoked,
    revocation: revocationOption(options.revocation),
    diagnose: jwtDiagnostics(loggerOption(options.logger)),
    report,
    settings: Object.freeze({
      issuer: options.issuer ?? (options.issuers === undefined ? undefined : 'several'),
      audience: options.audience,
      algorithms: options.algorithms,
      required: options.required !== false,
    }),
  }
}

import { type AuditLog, type AuditLogOptions, auditLog } from '@apiward/audit-log'
import { roles, scopes } from '@apiward/authz'
import { checkOptions, defineGuard, type Guard, type KnownOptions, type SecurityContext } from '@apiward/core'
import {
  type ApiVersionOptions,
  apiVersion,
  type CorsOptions,
  cors,
  type SecureHeadersOptions,
  secureHeaders,
} from '@apiward/headers'
import { type OnStoreFailure, type RateLimitStore, rateLimit } from '@apiward/ratelimit'
import { type ValidateOptions, validate } from '@apiward/validate'

/** The two rate-limit budgets of {@link apiStack}: one per client IP, one per principal. */
export interface ApiStackRateLimit {
  /** Requests allowed per `duration` in each budget. Required. */
  points: number
  /** The window of each budget, in whole seconds. Required. */
  duration: number
  /**
   * Where the counters live. Default: process memory (`memoryStore()`), right for one instance;
   * give `redisStore({ client })` when several instances must share the budgets.
   */
  store?: RateLimitStore
  /**
   * What happens while a remote store is unavailable: `'fail-open'` counts in each instance's
   * in-memory insurance limiter, `'fail-closed'` answers 503. Required with a remote store (no
   * default: the trade-off is yours), ignored with the memory store.
   */
  onStoreFailure?: OnStoreFailure
  /**
   * Paths never counted (health checks for a load balancer), compared exactly with the path as
   * sent: `/./health` or `//health` still count. Default `[]`: every path counts, unknown ones
   * included, so probing costs budget.
   */
  exempt?: readonly string[]
  /** The per-IP policy's name in `RateLimit-Policy`. Default `'anonymous'`. */
  ipPolicy?: string
  /** The per-principal policy's name in `RateLimit-Policy`. Default `'client'`. */
  principalPolicy?: string
}

/** Options of {@link apiStack}. */
export interface ApiStackOptions {
  /**
   * The authentication guard every protected route runs: `jwt()`, `apiKey()`, `anyOf(...)`.
   * Required: the preset never guesses how callers prove who they are.
   */
  authenticate: Guard
  /**
   * Which browser origins may read answers (`cors()` options). Required, since no origin is
   * allowed by default; `{ origins: [] }` allows none.
   */
  cors: CorsOptions
  /** The two budgets (see {@link ApiStackRateLimit}). Required: an API without limits is API4. */
  rateLimit: ApiStackRateLimit
  /**
   * `secureHeaders()` options. Default: its API preset (CSP `default-src 'none'`, HSTS,
   * `nosniff`, `no-store`, `no-referrer`), the safe answer for a JSON API.
   */
  headers?: SecureHeadersOptions
  /**
   * The `realm` of the challenges sent by the scope and role checks (`WWW-Authenticate: Bearer
   * realm="..."`), the same as your `jwt()`'s. Default `'api'`, `jwt()`'s default.
   */
  realm?: string
  /**
   * Request-level checks of your own, run right after the secure headers and before CORS and the
   * budgets (a path shape your router refuses, say), so their refusals carry the headers but
   * spend no budget. Default: none.
   */
  requestChecks?: readonly Guard[]
  /**
   * `apiVersion()` options for every route of {@link ApiStack.route} and {@link ApiStack.open},
   * or `false` for an API without versions. Default `false`.
   */
  apiVersion?: ApiVersionOptions | false
  /**
   * The audit log: `auditLog()` options, a running `AuditLog`, or `false` when you subscribe a
   * log of your own. Default `{}`: every security event and every answered request, hash-chained,
   * on stdout: an API that cannot tell who did what cannot answer for an incident.
   */
  audit?: AuditLogOptions | AuditLog | false
}

/** What one route of {@link ApiStack} checks beyond the shared stack. */
export interface ApiRouteOptions {
  /**
   * This route's authentication instead of the stack's `authenticate` (e.g. `anyOf(apiKey(...),
   * jwt(...))` where a service may call too). Default: the stack's.
   */
  authenticate?: Guard
  /** Scopes the caller needs, all of them (403 `authz.insufficient_scope`). Default: none. */
  scopes?: readonly string[]
  /** Roles the caller needs, any of them (403). Default: none. */
  roles?: readonly string[]
  /** Further authorization guards after scopes and roles (`casbin()`, `claims()`). Default: none. */
  authorize?: readonly Guard[]
  /**
   * `validate()` options for params, query and body: they run after authorization, parameters
   * before the body is read. Default: none (nothing is read from the request).
   */
  validate?: ValidateOptions
  /** Guards after validation (`owner()`, `bruteForce()`). Default: none. */
  after?: readonly Guard[]
}

/** A composed stack: the app-wide guards, and the guard list of each route. */
export interface ApiStack {
  /**
   * The app-wide guards, installed before the routes (Express/Koa `app.use(guard(...edge))`,
   * Fastify's plugin `guards`, Hono `app.use('*', guard(...edge))`): secure headers, CORS
   * (preflights answered here) and the per-IP budget, which counts what ends without a principal.
   */
  readonly edge: readonly Guard[]
  /**
   * The guards of an authenticated route, in the order that decides which rule answers first:
   * version, authentication (the stack's or the route's), the per-principal budget, scopes, roles, `authorize`, `validate`,
   * `after`.
   */
  route(options?: ApiRouteOptions): Guard[]
  /** The guards of a route open to anyone (a login): version, `validate`, `after`. */
  open(options?: Pick<ApiRouteOptions, 'validate' | 'after'>): Guard[]
  /** The audit log the stack writes to, unless `audit: false`. */
  readonly audit: AuditLog | undefined
}

const WHERE = 'apiStack()'

const OPTIONS: KnownOptions<ApiStackOptions> = {
  authenticate: true,
  cors: true,
  rateLimit: true,
  headers: true,
  realm: true,
  requestChecks: true,
  apiVersion: true,
  audit: true,
}
const RATE_OPTIONS: KnownOptions<ApiStackRateLimit> = {
  points: true,
  duration: true,
  store: true,
  onStoreFailure: true,
  exempt: true,
  ipPolicy: true,
  principalPolicy: true,
}
const ROUTE_OPTIONS: KnownOptions<ApiRouteOptions> = {
  authenticate: true,
  scopes: true,
  roles: true,
  authorize: true,
  validate: true,
  after: true,
}
const MISTAKES = {
  auth: 'authenticate',
  authentication: 'authenticate',
  helmet: 'headers',
  secureHeaders: 'headers',
  limits: 'rateLimit',
  version: 'apiVersion',
  auditLog: 'audit',
}
const EXAMPLE =
  "{ authenticate: jwt(opts), cors: { origins: ['https://app.example.com'] }, rateLimit: { points: 100, duration: 60 } }"

function guardOption(value: unknown, name: string): Guard {
  if (typeof value !== 'function') {
    throw new TypeError(`${WHERE}: ${name} must be a guard, e.g. jwt({ jwksUri, issuer, audience })`)
  }
  return value as Guard
}

function guardList(value: unknown, name: string, where: string): readonly Guard[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.some((guard) => typeof guard !== 'function')) {
    throw new TypeError(`${where}: ${name} must be an array of guards`)
  }
  return value as readonly Guard[]
}

function nameList(value: unknown, name: string, where: string): readonly string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    throw new TypeError(`${where}: ${name} must be an array of non-empty strings`)
  }
  return value as readonly string[]
}

function isAuditLog(value: unknown): value is AuditLog {
  return typeof (value as Partial<AuditLog> | null)?.closeSync === 'function'
}

/**
 * Resolves the request path first, so a malformed percent-encoding is the 400
 * `request.invalid_path` it is (before CORS and the budgets, and without rate-limit headers)
 * rather than an error inside a later guard's callback.
 */
const checkPath: Guard = defineGuard(
  (ctx) => {
    void ctx.req.path
  },
  { guardName: 'checkPath', kind: 'validation' },
)

function exemptSkip(paths: readonly string[]): ((ctx: SecurityContext) => boolean) | undefined {
  if (paths.length === 0) return undefined
  const set = new Set(paths)
  return (ctx) => set.has(ctx.req.rawPath)
}

/**
 * The reference API's security stack, written once: secure headers, strict CORS, a per-IP budget
 * before authentication and a per-principal budget after it, authentication, scopes and roles,
 * validation of every input (unknown properties refused) and a hash-chained audit log. Every
 * piece is the feature package's own guard with its secure defaults; the preset only fixes their
 * order, so a request that breaks several rules always meets the same one first.
 *
 * Options are checked at startup: a missing or misspelled option is a `TypeError` naming it.
 *
 * @example
 * ```ts
 * const stack = apiStack({ authenticate: jwt(opts), cors: { origins: ['https://app.example.com'] },
 *   rateLimit: { points: 100, duration: 60, exempt: ['/health'] } })
 * app.use(guard(...stack.edge))
 * app.get('/notes', guard(...stack.route({ scopes: ['notes:read'] })), listNotes)
 * ```
 */
export function apiStack(options: ApiStackOptions): ApiStack {
  checkOptions<ApiStackOptions>(options, WHERE, OPTIONS, MISTAKES, EXAMPLE)
  const authenticate = guardOption(options.authenticate, 'authenticate')
  const realm = options.realm ?? 'api'
  if (typeof realm !== 'string' || !/^[\x20-\x7e]*$/.test(realm) || /["\\]/.test(realm)) {
    throw new TypeError(`${WHERE}: realm must be printable ASCII without quotes, e.g. realm: 'notes-api'`)
  }
  if (options.cors === undefined) {
    throw new TypeError(`${WHERE}: cors is required, e.g. cors: { origins: ['https://app.example.com'] }`)
  }
  const limits = options.rateLimit
  if (limits === undefined) {
    throw new TypeError(`${WHERE}: rateLimit is required, e.g. rateLimit: { points: 100, duration: 60 }`)
  }
  checkOptions<ApiStackRateLimit>(limits, `${WHERE}: rateLimit`, RATE_OPTIONS, {
    max: 'points',
    windowMs: 'duration (in seconds)',
    skip: 'exempt (exact paths)',
  })
  const where = `${WHERE}: rateLimit`
  const exempt = nameList(limits.exempt, 'exempt', where)
  const store =
    limits.store === undefined ? {} : { store: limits.store, onStoreFailure: limits.onStoreFailure }
  const perIp = rateLimit({
    name: limits.ipPolicy ?? 'anonymous',
    points: limits.points,
    duration: limits.duration,
    onlyUnauthenticated: true,
    skip: exemptSkip(exempt),
    ...store,
  })
  const perPrincipal = rateLimit({
    name: limits.principalPolicy ?? 'client',
    key: 'principal',
    points: limits.points,
    duration: limits.duration,
    ...store,
  })

  const edge = Object.freeze([
    secureHeaders(options.headers ?? {}),
    checkPath,
    ...guardList(options.requestChecks, 'requestChecks', WHERE),
    cors(options.cors),
    perIp,
  ])
  const version =
    options.apiVersion === undefined || options.apiVersion === false ? [] : [apiVersion(options.apiVersion)]

  let audit: AuditLog | undefined
  if (options.audit === false) audit = undefined
  else if (isAuditLog(options.audit)) audit = options.audit
  else audit = auditLog(options.audit ?? {})

  const validation = (value: ValidateOptions | undefined): Guard[] =>
    value === undefined ? [] : [validate(value)]

  return {
    edge,
    audit,
    route(route: ApiRouteOptions = {}): Guard[] {
      const at = `${WHERE}.route()`
      checkOptions<ApiRouteOptions>(route, at, ROUTE_OPTIONS)
      const needed = nameList(route.scopes, 'scopes', at)
      const anyRole = nameList(route.roles, 'roles', at)
      return [
        ...version,
        route.authenticate === undefined
          ? authenticate
          : guardOption(route.authenticate, 'route().authenticate'),
        perPrincipal,
        ...(needed.length > 0 ? [scopes(needed[0]!, ...needed.slice(1), { realm })] : []),
        ...(anyRole.length > 0 ? [roles(anyRole[0]!, ...anyRole.slice(1), { mode: 'any', realm })] : []),
        ...guardList(route.authorize, 'authorize', at),
        ...validation(route.validate),
        ...guardList(route.after, 'after', at),
      ]
    },
    open(route: Pick<ApiRouteOptions, 'validate' | 'after'> = {}): Guard[] {
      const at = `${WHERE}.open()`
      checkOptions<Pick<ApiRouteOptions, 'validate' | 'after'>>(route, at, { validate: true, after: true })
      return [...version, ...validation(route.validate), ...guardList(route.after, 'after', at)]
    },
  }
}

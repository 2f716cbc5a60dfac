import { hash } from 'node:crypto'
import type { Principal, SecurityContext, SecurityRequest } from '@apiward/core'
import { type ApiError, ServiceUnavailable } from '@apiward/errors'
import type { JWTPayload } from 'jose'
import { isB64Token } from './bearer.js'
import { isThenable, runValidate } from './callback.js'
import { claimsFailure } from './claims.js'
import type { CredentialGuard } from './credential.js'
import { metadataReady } from './discovery.js'
import type { TokenFailureReason } from './errors.js'
import type { CachedIntrospection } from './introspection-cache.js'
import { IntrospectionFailure } from './introspection-endpoint.js'
import {
  type IntrospectionConfiguration,
  type IntrospectionOptions,
  parseIntrospectionOptions,
} from './introspection-options.js'
import { principalFromPayload } from './principal.js'

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

function refused(reason: TokenFailureReason, claims?: Readonly<Record<string, unknown>>): Verdict {
  return { principal: undefined, reason, claims, exp: 0, nbf: 0 }
}

/** The verdict on an active answer: the checks `jwt()` makes on a verified payload. */
function judge(claims: Readonly<Record<string, unknown>>, config: IntrospectionConfiguration): Verdict {
  const { policy, audience } = config
  const payload = claims as JWTPayload
  const reason = claimsFailure(payload, policy, Date.now() / 1000)
  if (reason !== undefined) return refused(reason, claims)
  if (payload.iss !== undefined && payload.iss !== config.issuer) return refused('issuer_not_allowed', claims)
  if (audience !== undefined) {
    const aud = payload.aud
    if (aud === undefined) return refused('missing_claim', claims)
    if (!(typeof aud === 'string' ? audience.has(aud) : aud.some((a) => audience.has(a)))) {
      return refused('audience_not_allowed', claims)
    }
  }
  for (const name of config.requiredClaims) {
    if (claims[name] === undefined) return refused('missing_claim', claims)
  }
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
  const config = parseIntrospectionOptions(options)
  const { bearer, store, policy, validate } = config
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

  const verdictOf = (entry: Entry): Verdict => {
    let verdict = entry[kVerdict]
    if (verdict === undefined) {
      verdict = entry.claims === undefined ? refused('inactive') : judge(entry.claims, config)
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
      if (validated !== undefined) return validated.then(() => grant(ctx, principal, verdict.claims!))
    }
    return grant(ctx, principal, verdict.claims!)
  }

  /** Grants once the token's binding (`cnf`: a certificate, a DPoP key) holds, checked last. */
  const grant = (
    ctx: SecurityContext,
    principal: Principal,
    claims: Readonly<Record<string, unknown>>,
  ): void | Promise<void> => {
    const bound = config.binding.check(ctx, claims)
    if (bound !== undefined) return bound.then(() => succeed(ctx, principal))
    succeed(ctx, principal)
  }

  // An answer served from the cache is no new authentication: `auth.success` marks the answer
  // once (the memory cache hands back the same judged entry; a shared store's reads count anew),
  // and each use shows in `request.completed`, as with jwt()'s verified-token cache.
  const announced = new WeakSet<Principal>()
  const succeed = (ctx: SecurityContext, principal: Principal): void => {
    ctx.principal = principal
    if (!ctx.events.hasListeners || announced.has(principal)) return
    announced.add(principal)
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
    if (active) entry[kVerdict] = judge(members, config)
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

  // The one-shot digest: half the cost of a Hash object for a short input.
  const keyOf = (token: string): string => hash('sha256', config.keyPrefix + token, 'base64url')

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
    kind: 'authentication' as const,
    settings: Object.freeze({ issuer: options.issuer, audience: options.audience }),
    needsBody: bearer.needsBody,
    hasCredential,
    challenge: challenges.challenge,
    ready,
  })
}

import type { SecurityContext } from '@apiward/core'
import { ApiError } from '@apiward/errors'
import { isB64Token } from './bearer.js'
import { isThenable, misread, reportCallbackError, runValidate } from './callback.js'
import type { CredentialGuard } from './credential.js'
import type { TokenFailureReason } from './errors.js'
import { isDiagnosed, type RefusalDetail } from './jwt-diagnostics.js'
import { unavailable } from './jwt-issuers.js'
import { type JwtOptions, parseJwtOptions } from './jwt-options.js'
import { reasonOf, TokenRefused, type Verified, verifyToken } from './jwt-verify.js'
import { TokenCache } from './token-cache.js'

export type { JwtDiagnostic, JwtLogger } from './jwt-diagnostics.js'
export type { JwtKeyOptions, JwtOptions } from './jwt-options.js'

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
  const config = parseJwtOptions(options)
  const { bearer, binding, verifyClaims, isRevoked, revocation, clockTolerance, maxTokenAge } = config
  const { extract, challenges, required, missingToken } = bearer
  // Where the check's failures are reported: the request gets the usual 401.
  const checkFailure = {
    code: 'auth.invalid_token',
    credential: 'jwt',
    callback: config.verifyClaimsName,
  } as const
  const cache = config.cacheMax > 0 ? new TokenCache<Verified>(config.cacheMax) : undefined

  const { diagnose } = config
  const refuse = (ctx: SecurityContext, reason: TokenFailureReason, detail?: RefusalDetail): ApiError => {
    ctx.emit('auth.failure', { severity: 'warn', code: 'auth.invalid_token', credential: 'jwt', reason })
    // Only a refusal with its expected and received values is diagnosed: they make it actionable.
    if (detail !== undefined && isDiagnosed(reason)) diagnose(reason, detail)
    return challenges.invalidToken()
  }

  const refusedByCheck = (ctx: SecurityContext) => refuse(ctx, 'rejected_by_validate')

  /** Checks that apply on every request, cached or not. Returns a promise only when a callback does. */
  const accept = (ctx: SecurityContext, verified: Verified): void | Promise<void> => {
    if (verifyClaims === undefined) return checkRevocation(ctx, verified)
    const checked = runValidate(ctx, verifyClaims, verified.payload, checkFailure, refusedByCheck)
    if (checked === undefined) return checkRevocation(ctx, verified)
    return checked.then(() => checkRevocation(ctx, verified))
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
      return grant(ctx, verified)
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

  /** Grants once the token's binding (`cnf`: a certificate, a DPoP key) holds, checked last. */
  const grant = (ctx: SecurityContext, verified: Verified): void | Promise<void> => {
    const bound = binding.check(ctx, verified.payload)
    if (bound !== undefined) return bound.then(() => succeed(ctx, verified))
    succeed(ctx, verified)
  }

  // A token served from the verified-token cache is no new authentication: `auth.success` marks
  // its verification once, and each use shows in `request.completed`.
  const announced = new WeakSet<Verified>()
  const succeed = (ctx: SecurityContext, verified: Verified): void => {
    ctx.principal = verified.principal
    if (!ctx.events.hasListeners || announced.has(verified)) return
    announced.add(verified)
    ctx.emit('auth.success', { credential: 'jwt' })
  }

  /** Why a cached token no longer passes (`expired`, or `too_old` past `maxTokenAge`), `undefined` while it does. */
  const lapsed = (verified: Verified, now: number): TokenFailureReason | undefined => {
    if (verified.exp + clockTolerance <= now) return 'expired'
    if (maxTokenAge !== undefined && (verified.iat as number) + maxTokenAge + clockTolerance <= now)
      return 'too_old'
    return undefined
  }

  const verify = async (ctx: SecurityContext, token: string): Promise<void> => {
    let verified: Verified
    try {
      verified = await verifyToken(config, ctx, token)
    } catch (err) {
      if (ApiError.is(err)) throw err
      throw refuse(ctx, reasonOf(err), err instanceof TokenRefused ? err.detail : undefined)
    }
    cache?.set(token, verified)
    return accept(ctx, verified)
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
        const reason = lapsed(hit, Date.now() / 1000)
        if (reason === undefined) return accept(ctx, hit)
        cache.delete(token)
        throw refuse(ctx, reason)
      }
    }
    if (!isB64Token(token)) throw challenges.invalidRequest('The bearer token is missing or malformed.')
    return verify(ctx, token)
  }

  const { sources } = config.keys
  const ready = async (): Promise<void> => {
    const settled = await Promise.allSettled(sources.map((source) => source.ready?.()))
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []))
    if (failures.length === 0) return
    throw new Error(`jwt(): ${failures.map((err) => err.message).join('; ')}`, {
      cause: failures.length === 1 ? failures[0] : new AggregateError(failures),
    })
  }

  return Object.assign(guard, {
    guardName: 'jwt',
    kind: 'authentication' as const,
    settings: config.settings,
    needsBody: bearer.needsBody,
    hasCredential: extract.present,
    challenge: challenges.challenge,
    ready,
  })
}

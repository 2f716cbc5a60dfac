import type { Principal, SecurityContext } from '@apiward/core'
import { errors, type JWTPayload } from 'jose'
import { isJwtAlgorithm } from './algorithms.js'
import { isThenable } from './callback.js'
import { claimsFailure } from './claims.js'
import type { TokenFailureReason } from './errors.js'
import { decodeSegment, verifyWithKeys } from './jws.js'
import type { JwtConfiguration } from './jwt-options.js'
import type { VerificationKey } from './key-source.js'
import { principalFromPayload } from './principal.js'

/** A verified token, as the cache keeps it. */
export interface Verified {
  readonly principal: Principal
  readonly payload: JWTPayload
  /** `exp` in seconds, `Infinity` when absent. */
  readonly exp: number
  readonly iat: number | undefined
}

/** Refusal of one token; `reason` goes to the security event, never to the client. */
export class TokenRefused extends Error {
  constructor(readonly reason: TokenFailureReason) {
    super(reason)
  }
}

function fail(reason: TokenFailureReason): never {
  throw new TokenRefused(reason)
}

/** Why verification failed, for the `auth.failure` event. */
export function reasonOf(err: unknown): TokenFailureReason {
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

/**
 * Verifies one token as `config` says: its shape, its header (`alg` on the allowlist, no
 * `crit`, no `b64`), its issuer's keys, its signature and its claims. Throws a
 * {@link TokenRefused} (or a jose error, see {@link reasonOf}) for a bad token, an `ApiError`
 * when a dependency cannot answer.
 */
export async function verifyToken(
  config: JwtConfiguration,
  ctx: SecurityContext,
  token: string,
): Promise<Verified> {
  if (token.length > config.bearer.maxTokenLength) fail('too_long')
  const firstDot = token.indexOf('.')
  const dots = token.split('.').length - 1
  if (dots === 4) fail('encrypted')
  if (dots !== 2 || firstDot < 1) fail('malformed')
  const header = decodeSegment(token.slice(0, firstDot))
  if (header === undefined) fail('malformed')
  const alg = header.alg
  if (!isJwtAlgorithm(alg) || !config.allowed.has(alg)) fail('algorithm_not_allowed')
  // No critical extension is understood here, and b64:false changes what is signed.
  if (header.crit !== undefined || header.b64 !== undefined) fail('unsupported_header')
  const kid = header.kid
  if (kid !== undefined && (typeof kid !== 'string' || kid.length > 256)) fail('malformed')

  let source = config.keys.single
  if (source === undefined) {
    const secondDot = token.indexOf('.', firstDot + 1)
    const found = config.keys.sourceFor!(decodeSegment(token.slice(firstDot + 1, secondDot))?.iss, ctx)
    source = isThenable(found) ? await found : found
    if (source === undefined) fail('issuer_not_allowed')
  }
  if (config.explicitAlgorithms === undefined && !source.algorithms.includes(alg))
    fail('algorithm_not_allowed')
  const found = source.candidates(alg, kid)
  const keys: readonly VerificationKey[] = Array.isArray(found) ? found : await found
  if (keys.length === 0) fail(source.loaded === false ? 'keys_unavailable' : 'unknown_key')
  const payload = await verifyWithKeys(token, keys, alg, {
    issuer: config.issuers as string[] | undefined,
    audience: config.audience as string[] | undefined,
    clockTolerance: config.clockTolerance,
    maxTokenAge: config.maxTokenAge,
    typ: config.typ,
    requiredClaims: config.requiredClaims as string[],
  })
  const refused = claimsFailure(payload, config.claimPolicy, Date.now() / 1000)
  if (refused !== undefined) fail(refused)
  return {
    payload,
    principal: principalFromPayload(payload, { rolesClaim: config.rolesClaim }),
    exp: payload.exp ?? Number.POSITIVE_INFINITY,
    iat: payload.iat,
  }
}

import type { Principal, SecurityContext } from '@apiward/core'
import { errors, type JWTPayload } from 'jose'
import { isJwtAlgorithm } from './algorithms.js'
import { isThenable } from './callback.js'
import { claimsFailure, MAX_NUMERIC_DATE } from './claims.js'
import type { TokenFailureReason } from './errors.js'
import { decodeSegment, UnusableKey, verifyWithKeys } from './jws.js'
import type { RefusalDetail } from './jwt-diagnostics.js'
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
  constructor(
    readonly reason: TokenFailureReason,
    /** Expected and received values, for the diagnostics of configuration-like reasons. */
    readonly detail?: RefusalDetail,
  ) {
    super(reason)
  }
}

function fail(reason: TokenFailureReason, detail?: RefusalDetail): never {
  throw new TokenRefused(reason, detail)
}

function isNumericDate(value: unknown): boolean {
  return typeof value === 'number' && value >= 0 && value <= MAX_NUMERIC_DATE
}

/**
 * Why verification failed, for the `auth.failure` event. A time claim that is no NumericDate
 * (`"nbf": -1`, `"exp": 1e400`) is an invalid claim, whichever of jose's checks met it first.
 */
export function reasonOf(err: unknown): TokenFailureReason {
  if (err instanceof TokenRefused) return err.reason
  if (err instanceof UnusableKey) return 'misconfigured'
  if (err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired) {
    const { claim, payload } = err
    if ((claim === 'exp' || claim === 'nbf' || claim === 'iat') && payload[claim] !== undefined) {
      if (!isNumericDate(payload[claim])) return 'invalid_claim'
    }
  }
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

/** What a jose error says the guard expected and the token carried. */
function detailOf(err: unknown, config: JwtConfiguration, typ: unknown): RefusalDetail | undefined {
  if (err instanceof UnusableKey) return { cause: err.message }
  if (!(err instanceof errors.JWTClaimValidationFailed)) return undefined
  if (err.claim === 'iss') return { expected: config.issuers, received: err.payload.iss }
  if (err.claim === 'aud') return { expected: config.audience, received: err.payload.aud }
  if (err.claim === 'typ') return { expected: config.typ, received: typ }
  return undefined
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
  if (!isJwtAlgorithm(alg) || !config.allowed.has(alg)) {
    // `none` and names no issuer signs with are an attack or garbage, not a configuration to check.
    fail(
      'algorithm_not_allowed',
      isJwtAlgorithm(alg) ? { expected: [...config.allowed], received: alg } : undefined,
    )
  }
  // No critical extension is understood here, and b64:false changes what is signed.
  if (header.crit !== undefined || header.b64 !== undefined) fail('unsupported_header')
  const kid = header.kid
  if (kid !== undefined && (typeof kid !== 'string' || kid.length > 256)) fail('malformed')

  let source = config.keys.single
  if (source === undefined) {
    const secondDot = token.indexOf('.', firstDot + 1)
    const iss = decodeSegment(token.slice(firstDot + 1, secondDot))?.iss
    const found = config.keys.sourceFor!(iss, ctx)
    source = isThenable(found) ? await found : found
    if (source === undefined) fail('issuer_not_allowed', { expected: config.issuers, received: iss })
    if (source.misconfigured !== undefined)
      fail('misconfigured', { received: iss, cause: source.misconfigured })
  }
  if (config.explicitAlgorithms === undefined && !source.algorithms.includes(alg)) {
    fail('algorithm_not_allowed', { expected: source.algorithms, received: alg })
  }
  const found = source.candidates(alg, kid)
  const keys: readonly VerificationKey[] = Array.isArray(found) ? found : await found
  if (keys.length === 0) {
    const where = source.describe?.()
    if (source.loaded === false)
      fail('keys_unavailable', { expected: where?.location, cause: where?.lastFailure })
    fail('unknown_key', { expected: where?.location, received: { alg, kid } })
  }
  let payload: JWTPayload
  try {
    payload = await verifyWithKeys(token, keys, alg, {
      issuer: config.issuers as string[] | undefined,
      audience: config.audience as string[] | undefined,
      clockTolerance: config.clockTolerance,
      maxTokenAge: config.maxTokenAge,
      typ: config.typ,
      requiredClaims: config.requiredClaims as string[],
    })
  } catch (err) {
    throw new TokenRefused(reasonOf(err), detailOf(err, config, header.typ))
  }
  const refused = claimsFailure(payload, config.claimPolicy, Date.now() / 1000)
  if (refused !== undefined) fail(refused)
  return {
    payload,
    principal: principalFromPayload(payload, { rolesClaim: config.rolesClaim }),
    exp: payload.exp ?? Number.POSITIVE_INFINITY,
    iat: payload.iat,
  }
}

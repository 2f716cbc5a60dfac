import type { JWTPayload } from 'jose'
import type { TokenFailureReason } from './errors.js'
import { claimAt } from './principal.js'

/**
 * 9999-12-31T23:59:59Z, the last second a NumericDate may name here. RFC 7519 section 2 only
 * says "seconds since the epoch"; without a bound, `"exp": 1e309` parses to `Infinity` and
 * `"exp": 1e20` is as good as never expiring.
 */
export const MAX_NUMERIC_DATE = 253_402_300_799

const NUMERIC_DATES = ['exp', 'nbf', 'iat', 'auth_time'] as const
const STRINGS = ['iss', 'sub', 'jti', 'client_id', 'azp', 'scope'] as const

/** What the claim checks of one `jwt()` guard depend on. */
export interface ClaimPolicy {
  readonly clockTolerance: number
  /** The longest `exp - iat` accepted, in seconds; `iat` and `exp` are then required. */
  readonly maxTokenLifetime: number | undefined
  /** The claim path the principal's roles are read from. */
  readonly rolesClaim: string
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_NUMERIC_DATE
}

/** A string, or an array of strings: the shapes `aud`, `scp` and roles are read in. */
function isStringOrStrings(value: unknown): boolean {
  return typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))
}

/**
 * The checks jose leaves to us, on a verified payload: the type of every registered claim the
 * guard reads (whether or not it is required), NumericDates that are finite and within years
 * 1970 to 9999, an `iat` that is not in the future, an `exp` not before `iat`, and the token's
 * lifetime. A claim of the wrong type is refused rather than ignored: a numeric `jti` would
 * skip the revocation store, an array `scope` would be read differently by each consumer.
 *
 * Returns why the token is refused, or `undefined` when its claims pass.
 */
export function claimsFailure(
  payload: JWTPayload,
  policy: ClaimPolicy,
  now: number,
): TokenFailureReason | undefined {
  for (const name of NUMERIC_DATES) {
    const value = payload[name]
    if (value !== undefined && !isNumericDate(value)) return 'invalid_claim'
  }
  for (const name of STRINGS) {
    const value = payload[name]
    if (value !== undefined && typeof value !== 'string') return 'invalid_claim'
  }
  if (payload.sub === '') return 'invalid_claim'
  if (payload.aud !== undefined && !isStringOrStrings(payload.aud)) return 'invalid_claim'
  if (payload.scp !== undefined && !isStringOrStrings(payload.scp)) return 'invalid_claim'
  const roles = claimAt(payload, policy.rolesClaim)
  if (roles !== undefined && !isStringOrStrings(roles)) return 'invalid_claim'
  const { iat, exp } = payload
  if (iat !== undefined) {
    if (iat > now + policy.clockTolerance) return 'issued_in_future'
    if (exp !== undefined && exp < iat) return 'invalid_claim'
    if (policy.maxTokenLifetime !== undefined && (exp === undefined || exp - iat > policy.maxTokenLifetime)) {
      return 'lifetime_too_long'
    }
  }
  return undefined
}

/** Checks a `clockTolerance` option: seconds, from 0 to 30, default 5. */
export function clockToleranceOf(value: number | undefined, where: string): number {
  const clockTolerance = value ?? 5
  if (
    typeof clockTolerance !== 'number' ||
    !Number.isFinite(clockTolerance) ||
    clockTolerance < 0 ||
    clockTolerance > 30
  ) {
    throw new TypeError(`${where}: clockTolerance is in seconds, from 0 to 30.`)
  }
  return clockTolerance
}

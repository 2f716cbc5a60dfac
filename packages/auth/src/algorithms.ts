import type { JWK } from 'jose'

/** The JWS algorithms `jwt()` verifies. `none` is not one of them, and never will be. */
export type JwtAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'

/** Asymmetric algorithms, the default allowlist for JWKS and public keys. */
export const ASYMMETRIC_ALGORITHMS: readonly JwtAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]

export const HMAC_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512']

const ALL = new Set<string>([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS])

/** Whether a string is an algorithm `jwt()` knows (case-sensitive, as RFC 7515 requires). */
export function isJwtAlgorithm(alg: unknown): alg is JwtAlgorithm {
  return typeof alg === 'string' && ALL.has(alg)
}

const EC_CURVES: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }

/**
 * Whether a JWK may verify tokens signed with `alg`: right key type (no HS256 with an RSA key),
 * right curve, not an encryption key, and the key's own `alg`, when it has one, is the same.
 */
export function jwkFitsAlgorithm(jwk: JWK, alg: JwtAlgorithm): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false
  if (jwk.alg !== undefined && jwk.alg !== alg) return false
  switch (alg[0]) {
    case 'H':
      return jwk.kty === 'oct'
    case 'R':
    case 'P':
      return jwk.kty === 'RSA'
    case 'E':
      if (alg === 'EdDSA' || alg === 'Ed25519') return jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
      return jwk.kty === 'EC' && jwk.crv === EC_CURVES[alg]
    default:
      return false
  }
}

/** The algorithms a key type can verify, to derive an allowlist from a local key. */
export function algorithmsForJwk(jwk: JWK): JwtAlgorithm[] {
  if (typeof jwk.alg === 'string')
    return isJwtAlgorithm(jwk.alg) && jwkFitsAlgorithm(jwk, jwk.alg) ? [jwk.alg] : []
  return ASYMMETRIC_ALGORITHMS.filter((alg) => jwkFitsAlgorithm(jwk, alg))
}

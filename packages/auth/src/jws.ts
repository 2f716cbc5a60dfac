import { errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose'
import type { JwtAlgorithm } from './algorithms.js'
import type { VerificationKey } from './key-source.js'

/** A base64url JSON segment of a compact JWS as an object, `undefined` when it is not one. */
export function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * A key that could not be used (its import failed, or the crypto layer refused it for `alg`,
 * e.g. an RSA modulus under 2048 bits): the configuration is wrong, not the token.
 */
export class UnusableKey extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original))
    this.name = 'UnusableKey'
  }
}

/** Keys tried for one token at most: a JWKS with many keys under one `kid` costs no more. */
const MAX_CANDIDATES = 4

/**
 * Verifies a compact JWS with the first of `keys` that checks its signature (at most
 * {@link MAX_CANDIDATES}), for `alg` only, and its claims as `options` say. Another key is
 * tried only after a failed signature; any other failure (a claim, a type) is final and thrown.
 */
export async function verifyWithKeys(
  token: string,
  keys: readonly VerificationKey[],
  alg: JwtAlgorithm,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  let lastError: unknown = new errors.JWSSignatureVerificationFailed()
  for (const key of keys.slice(0, MAX_CANDIDATES)) {
    let cryptoKey: Awaited<ReturnType<VerificationKey['forAlgorithm']>>
    try {
      cryptoKey = await key.forAlgorithm(alg)
    } catch (err) {
      lastError = new UnusableKey(err)
      continue
    }
    try {
      return (await jwtVerify(token, cryptoKey, { ...options, algorithms: [alg] })).payload
    } catch (err) {
      // jose's own errors are about the token; a plain TypeError is the key refused for alg.
      lastError = err instanceof errors.JOSEError ? err : new UnusableKey(err)
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) break
    }
  }
  throw lastError
}

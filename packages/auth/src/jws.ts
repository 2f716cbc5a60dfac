import { errors, type JWTPayload, type JWTVerifyOptions, jwtVerify, UnsecuredJWT } from 'jose'
import type { JwtAlgorithm } from './algorithms.js'
import type { VerificationKey } from './key-source.js'
import { NODE_ALGORITHMS, type NodeKey, nodeSignatureValid } from './node-verify.js'

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

const BASE64URL = /^[A-Za-z0-9_-]+$/
const NONE = Buffer.from('{"alg":"none"}').toString('base64url')

/** Base64url without padding, of a length that decodes (a lone trailing character does not). */
function canonical(segment: string): boolean {
  return segment.length % 4 !== 1 && BASE64URL.test(segment)
}

/** The parts of a compact JWS the `node:crypto` path reads; `undefined` sends the token to jose. */
interface NodeParts {
  /** The signing input: header, dot, payload. */
  readonly input: string
  readonly signature: string
  /** The payload behind a header jose's claim checks read (`alg: none`, the token's `typ`). */
  readonly unsecured: string
}

/**
 * Splits a token for the `node:crypto` path. Only the canonical shape is taken (three strict
 * base64url segments, a JSON header of this `alg` without `crit` or `b64`): anything else goes to jose,
 * whose answer then decides, so both paths accept and refuse the same tokens.
 */
function nodeParts(token: string, alg: JwtAlgorithm): NodeParts | undefined {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first < 1 || second < first + 2 || token.indexOf('.', second + 1) !== -1) return undefined
  const headerSegment = token.slice(0, first)
  const payloadSegment = token.slice(first + 1, second)
  const signature = token.slice(second + 1)
  if (!canonical(headerSegment) || !canonical(payloadSegment) || !canonical(signature)) return undefined
  const header = decodeSegment(headerSegment)
  if (header?.alg !== alg || header.crit !== undefined || header.b64 !== undefined) return undefined
  const typed =
    header.typ === undefined
      ? NONE
      : Buffer.from(JSON.stringify({ alg: 'none', typ: header.typ })).toString('base64url')
  return {
    input: token.slice(0, second),
    signature: token.slice(second + 1),
    unsecured: `${typed}.${payloadSegment}.`,
  }
}

/**
 * Verifies a compact JWS with the first of `keys` that checks its signature (at most
 * {@link MAX_CANDIDATES}), for `alg` only, and its claims as `options` say. Another key is
 * tried only after a failed signature; any other failure (a claim, a type) is final and thrown.
 *
 * For the algorithms of `NODE_ALGORITHMS` the signature is checked with `node:crypto`
 * (measured at least twice as fast as WebCrypto); the claims are then checked by jose, on the
 * same payload under an unsecured header that carries the token's `typ`, so both paths apply
 * jose's claim rules. A runtime whose `node:crypto` cannot perform a check falls back to jose
 * for that key.
 */
export async function verifyWithKeys(
  token: string,
  keys: readonly VerificationKey[],
  alg: JwtAlgorithm,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  let lastError: unknown = new errors.JWSSignatureVerificationFailed()
  const parts = NODE_ALGORITHMS.has(alg) ? nodeParts(token, alg) : undefined
  for (const key of keys.slice(0, MAX_CANDIDATES)) {
    if (parts !== undefined) {
      let nodeKey: NodeKey
      try {
        nodeKey = key.forNode(alg)
      } catch (err) {
        lastError = new UnusableKey(err)
        continue
      }
      let valid: boolean | undefined
      try {
        valid = nodeSignatureValid(alg, nodeKey, parts.input, parts.signature)
      } catch {
        // node:crypto could not perform the check here: jose's path below decides for this key.
      }
      if (valid === false) {
        lastError = new errors.JWSSignatureVerificationFailed()
        continue
      }
      if (valid === true) return UnsecuredJWT.decode(parts.unsecured, options).payload
    }
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

import { hash } from 'node:crypto'
import { type CryptoKey, compactVerify, importJWK, type JWK } from 'jose'
import { isJwtAlgorithm, type JwtAlgorithm, jwkFitsAlgorithm } from './algorithms.js'
import { decodeSegment } from './jws.js'

/** Why a DPoP proof was refused. Sent to security events, never to the client. */
export type DpopFailureReason =
  | 'missing_proof'
  | 'several_proofs'
  | 'malformed_proof'
  | 'proof_too_long'
  | 'wrong_proof_type'
  | 'proof_algorithm_not_allowed'
  | 'invalid_proof_key'
  | 'private_proof_key'
  | 'bad_proof_signature'
  | 'method_mismatch'
  | 'uri_mismatch'
  | 'stale_proof'
  | 'proof_from_future'
  | 'token_hash_mismatch'
  | 'key_not_bound'
  | 'token_not_bound'
  | 'bound_token_as_bearer'
  | 'replayed'
  | 'missing_nonce'
  | 'stale_nonce'

/** A DPoP proof that passed every check of its own; the token and the replay store come after. */
export interface VerifiedProof {
  /** The JWK SHA-256 thumbprint (RFC 7638) of the proof key: the `cnf.jkt` a bound token carries. */
  readonly jkt: string
  readonly jti: string
  /** `iat`, in seconds. */
  readonly iat: number
  readonly nonce: string | undefined
}

/** Refuses a proof with a reason; the guard turns it into its answer. */
export class ProofError extends Error {
  readonly reason: DpopFailureReason
  constructor(reason: DpopFailureReason) {
    super(reason)
    this.reason = reason
  }
}

function fail(reason: DpopFailureReason): never {
  throw new ProofError(reason)
}

/** Members that only private (or symmetric) JWKs have. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/** The members of the RFC 7638 thumbprint of each key type, in lexical order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
}

/**
 * The RFC 7638 SHA-256 thumbprint of a public JWK, base64url, computed synchronously (jose's
 * `calculateJwkThumbprint` gives the same value through an asynchronous digest). `undefined`
 * when a required member is missing or not a string.
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = typeof jwk.kty === 'string' ? THUMBPRINT_MEMBERS[jwk.kty] : undefined
  if (members === undefined) return undefined
  const canonical: Record<string, string> = {}
  for (const m of members) {
    const value = jwk[m]
    if (typeof value !== 'string' || value === '') return undefined
    canonical[m] = value
  }
  return hash('sha256', JSON.stringify(canonical), 'base64url')
}

/**
 * The `ath` of an access token (RFC 9449 section 4.2): base64url SHA-256 of its ASCII bytes (a
 * checked b64token is ASCII, so its UTF-8 bytes are the same).
 */
export function accessTokenHash(token: string): string {
  return hash('sha256', token, 'base64url')
}

const MAX_KEYS = 1000
const keys = new Map<string, Promise<CryptoKey | Uint8Array>>()

/** The proof key imported for `alg`, kept by thumbprint: a client signs every proof with one key. */
function importedKey(jwk: JWK, jkt: string, alg: JwtAlgorithm): Promise<CryptoKey | Uint8Array> {
  const id = `${alg}.${jkt}`
  let key = keys.get(id)
  if (key === undefined) {
    key = importJWK(jwk, alg)
    key.catch(() => keys.delete(id))
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string)
    keys.set(id, key)
  }
  return key
}

/** What a proof is checked against: the request and the window, as the guard resolved them. */
export interface ProofCheck {
  readonly method: string
  /** The normalised URI of the request (RFC 9449 section 4.3): origin and path, no query. */
  readonly uri: string
  readonly algorithms: ReadonlySet<string>
  /** Seconds a proof may be old (`iat`). */
  readonly maxAge: number
  /** Seconds of clock skew allowed either way. */
  readonly clockTolerance: number
  readonly maxLength: number
  /** Normalises a proof's `htu` the same way as `uri`; `undefined` when it is no URI. */
  readonly normalize: (htu: string) => string | undefined
}

/**
 * Verifies a DPoP proof JWT (RFC 9449 section 4.3, checks 2 to 9, and 11 when `token` is
 * given): one well-formed JWS with `typ: dpop+jwt`, an allowed asymmetric `alg`, a public `jwk`
 * in its header that verifies the signature, `jti`, `htm` equal to the method, `htu` equal to
 * the request's URI once both are normalised, `iat` within the window, and `ath` equal to the
 * hash of `token`. Replay (`jti`) and the nonce are the caller's, after the token is known.
 */
export async function verifyProof(
  proof: string,
  token: string | undefined,
  check: ProofCheck,
): Promise<VerifiedProof> {
  if (proof.length > check.maxLength) fail('proof_too_long')
  const first = proof.indexOf('.')
  const second = proof.indexOf('.', first + 1)
  if (first < 1 || second === -1 || proof.indexOf('.', second + 1) !== -1) fail('malformed_proof')
  const header = decodeSegment(proof.slice(0, first))
  if (header === undefined) fail('malformed_proof')
  if (header.typ !== 'dpop+jwt') fail('wrong_proof_type')
  const alg = header.alg
  if (!isJwtAlgorithm(alg) || !check.algorithms.has(alg)) fail('proof_algorithm_not_allowed')
  if (header.crit !== undefined || header.b64 !== undefined) fail('malformed_proof')
  const jwk = header.jwk as Record<string, unknown> | undefined
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) fail('invalid_proof_key')
  if (PRIVATE_MEMBERS.some((m) => jwk[m] !== undefined)) fail('private_proof_key')
  if (!jwkFitsAlgorithm(jwk as JWK, alg)) fail('invalid_proof_key')
  const jkt = jwkThumbprint(jwk)
  if (jkt === undefined) fail('invalid_proof_key')

  let key: CryptoKey | Uint8Array
  try {
    key = await importedKey(jwk as JWK, jkt, alg)
  } catch {
    fail('invalid_proof_key')
  }
  let payloadBytes: Uint8Array
  try {
    payloadBytes = (await compactVerify(proof, key, { algorithms: [alg] })).payload
  } catch {
    fail('bad_proof_signature')
  }
  let payload: Record<string, unknown>
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(payloadBytes))
    if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('malformed_proof')
    payload = value as Record<string, unknown>
  } catch (err) {
    if (err instanceof ProofError) throw err
    fail('malformed_proof')
  }

  const { jti, htm, htu, iat, ath, nonce } = payload
  if (typeof jti !== 'string' || jti === '' || jti.length > 256) fail('malformed_proof')
  if (typeof htm !== 'string' || typeof htu !== 'string') fail('malformed_proof')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) fail('malformed_proof')
  if (nonce !== undefined && typeof nonce !== 'string') fail('malformed_proof')
  if (htm !== check.method) fail('method_mismatch')
  // An htu spelled as the expected URI needs no normalising: the common case, at no cost.
  if (htu !== check.uri && check.normalize(htu) !== check.uri) fail('uri_mismatch')
  const now = Date.now() / 1000
  if (iat > now + check.clockTolerance) fail('proof_from_future')
  if (iat < now - check.maxAge - check.clockTolerance) fail('stale_proof')
  if (token !== undefined && ath !== accessTokenHash(token)) fail('token_hash_mismatch')
  return { jkt, jti, iat, nonce }
}

const UNRESERVED = /[A-Za-z0-9\-._~]/

/**
 * A URI normalised as RFC 9449 section 4.3 asks (RFC 3986 sections 6.2.2 and 6.2.3): scheme
 * and host in lower case, the default port removed, dot segments resolved, an empty path as
 * `/`, percent-encodings in upper case and unreserved characters decoded; query and fragment
 * dropped. `undefined` when it is no absolute `http:` or `https:` URI.
 */
export function normalizeHtu(htu: string): string | undefined {
  let url: URL
  try {
    url = new URL(htu)
  } catch {
    return undefined
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') {
    return undefined
  }
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const c = String.fromCharCode(Number.parseInt(hex, 16))
    return UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`
  })
  return `${url.protocol}//${url.host}${path}`
}

/** Whether an algorithm name may sign DPoP proofs: asymmetric only (RFC 9449 section 4.2). */
export function isProofAlgorithm(alg: unknown): alg is JwtAlgorithm {
  return isJwtAlgorithm(alg) && !alg.startsWith('HS')
}

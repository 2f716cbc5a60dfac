import { createPublicKey, KeyObject } from 'node:crypto'
import { type CryptoKey, importJWK, type JWK } from 'jose'
import { algorithmsForJwk, HMAC_ALGORITHMS, type JwtAlgorithm, jwkFitsAlgorithm } from './algorithms.js'
import { type NodeKey, nodeKeyOf } from './node-verify.js'

/** A verification key with the algorithm it was imported for. */
export interface VerificationKey {
  readonly jwk: JWK
  /** Imports lazily, once per algorithm. */
  forAlgorithm(alg: JwtAlgorithm): Promise<CryptoKey | Uint8Array>
  /** The `node:crypto` key for `alg` (one of `NODE_ALGORITHMS`), made once; throws when unusable. */
  forNode(alg: JwtAlgorithm): NodeKey
}

/** Where `jwt()` finds the keys of a token. */
export interface KeySource {
  /** Keys that may verify a token with this header, best first. Empty when none fits. */
  candidates(
    alg: JwtAlgorithm,
    kid: string | undefined,
  ): readonly VerificationKey[] | Promise<readonly VerificationKey[]>
  /** The algorithms this source's keys can verify, to derive an allowlist. */
  readonly algorithms: readonly JwtAlgorithm[]
  /** `false` while a remote source has never loaded its keys: no key is known, none is wrong. */
  readonly loaded?: boolean
  /** Where the keys come from and why the last fetch failed, for diagnostics (remote sources). */
  describe?(): { readonly location: string; readonly lastFailure: string | undefined }
  /** Why the keys of this source cannot be used at all (an issuer resolver's unusable answer). */
  readonly misconfigured?: string
  /** Loads a remote source's keys now; rejects with why when they cannot be loaded. */
  ready?(): Promise<void>
}

const PUBLIC_MEMBERS = ['kty', 'kid', 'use', 'key_ops', 'alg', 'crv', 'x', 'y', 'n', 'e', 'k'] as const

/** A JWK reduced to its public members (a private key's `d`, `p`... never leave this function). */
export function publicJwk(jwk: JWK): JWK {
  const out: Record<string, unknown> = {}
  for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) out[member] = jwk[member]
  return out as JWK
}

export function verificationKey(jwk: JWK): VerificationKey {
  const imported = new Map<JwtAlgorithm, Promise<CryptoKey | Uint8Array>>()
  const nodeKeys = new Map<JwtAlgorithm, NodeKey | TypeError>()
  return {
    jwk,
    forNode(alg) {
      let key = nodeKeys.get(alg)
      if (key === undefined) {
        try {
          key = nodeKeyOf(jwk, alg)
        } catch (err) {
          key = err instanceof TypeError ? err : new TypeError(String(err))
        }
        nodeKeys.set(alg, key)
      }
      if (key instanceof TypeError) throw key
      return key
    },
    forAlgorithm(alg) {
      let key = imported.get(alg)
      if (key === undefined) {
        key = importJWK({ ...jwk, ext: true }, alg)
        imported.set(alg, key)
        key.catch(() => imported.delete(alg))
      }
      return key
    },
  }
}

/** Keys from a JWK Set document, skipping entries that are not usable verification keys. */
export function keysOfJwks(document: unknown): VerificationKey[] {
  const keys = (document as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) return []
  const out: VerificationKey[] = []
  for (const entry of keys) {
    if (entry === null || typeof entry !== 'object' || typeof (entry as JWK).kty !== 'string') continue
    const jwk = publicJwk(entry as JWK)
    if (jwk.kty === 'oct') continue
    if (jwk.kid !== undefined && typeof jwk.kid !== 'string') continue
    out.push(verificationKey(jwk))
  }
  return out
}

/** The keys among `keys` that may verify `alg` under `kid`. */
export function selectKeys(
  keys: readonly VerificationKey[],
  alg: JwtAlgorithm,
  kid: string | undefined,
  matchKid: boolean,
): VerificationKey[] {
  const out: VerificationKey[] = []
  for (const key of keys) {
    if (matchKid && kid !== undefined && key.jwk.kid !== kid) continue
    if (jwkFitsAlgorithm(key.jwk, alg)) out.push(key)
  }
  return out
}

/** A fixed set of keys: a local JWKS (matched by `kid`) or one key (used whatever the `kid`). */
export class StaticKeySource implements KeySource {
  readonly algorithms: readonly JwtAlgorithm[]
  readonly #keys: readonly VerificationKey[]
  readonly #matchKid: boolean

  constructor(keys: readonly VerificationKey[], matchKid: boolean, algorithms?: readonly JwtAlgorithm[]) {
    this.#keys = keys
    this.#matchKid = matchKid
    this.algorithms = algorithms ?? [...new Set(keys.flatMap((k) => algorithmsForJwk(k.jwk)))]
  }

  candidates(alg: JwtAlgorithm, kid: string | undefined): readonly VerificationKey[] {
    return selectKeys(this.#keys, alg, kid, this.#matchKid)
  }
}

/** A public key given as a PEM string, a `KeyObject` or a JWK. */
export type PublicKeyInput = string | KeyObject | JWK

export function publicKeySource(input: PublicKeyInput): StaticKeySource {
  let jwk: JWK
  try {
    if (typeof input === 'string' || input instanceof KeyObject) {
      const key = typeof input === 'string' ? createPublicKey(input) : input
      if (key.type !== 'public') {
        throw new TypeError('a private key was given, pass its public key')
      }
      jwk = key.export({ format: 'jwk' }) as JWK
    } else jwk = input
  } catch (err) {
    throw new TypeError(
      `jwt(): publicKey could not be read (${err instanceof Error ? err.message : String(err)}). Pass a PEM "-----BEGIN PUBLIC KEY-----" string, a public KeyObject or a public JWK.`,
    )
  }
  if (jwk.kty === 'oct' || typeof jwk.kty !== 'string') {
    throw new TypeError(
      'jwt(): publicKey must be an RSA, EC or OKP public key; pass shared secrets as `secret`.',
    )
  }
  if (jwk.d !== undefined)
    throw new TypeError('jwt(): publicKey is a private JWK; pass only its public members.')
  return new StaticKeySource([verificationKey(publicJwk(jwk))], false)
}

const MIN_SECRET_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 }

export function secretKeySource(
  secret: string | Uint8Array,
  algorithms: readonly JwtAlgorithm[],
): StaticKeySource {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
  if (!(bytes instanceof Uint8Array)) throw new TypeError('jwt(): secret must be a string or a Uint8Array.')
  for (const alg of algorithms) {
    const min = MIN_SECRET_BYTES[alg]
    if (min === undefined) {
      throw new TypeError(
        `jwt(): algorithm ${alg} cannot be used with a shared secret; use ${HMAC_ALGORITHMS.join(', ')}, or pass publicKey / jwks / jwksUri for ${alg}.`,
      )
    }
    if (bytes.length < min) {
      throw new TypeError(
        `jwt(): the secret for ${alg} is ${bytes.length} bytes; it must be at least ${min} random bytes (RFC 7518 section 3.2). Generate one with crypto.randomBytes(${min}).`,
      )
    }
  }
  const jwk: JWK = { kty: 'oct', k: Buffer.from(bytes).toString('base64url') }
  return new StaticKeySource([verificationKey(jwk)], false, algorithms)
}

export function jwksKeySource(jwks: { keys: readonly JWK[] }): StaticKeySource {
  const keys = keysOfJwks(jwks)
  if (keys.length === 0) {
    throw new TypeError(
      'jwt(): jwks has no usable public verification key (`{ keys: [{ kty, kid, ... }] }`).',
    )
  }
  return new StaticKeySource(keys, true)
}

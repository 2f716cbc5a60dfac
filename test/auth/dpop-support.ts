import { createHash, randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'

/** A DPoP client key: its public JWK, its RFC 7638 thumbprint, and a proof maker. */
export interface DpopClient {
  jwk: JWK
  privateJwk: JWK
  jkt: string
  proof(options: ProofOptions): Promise<string>
}

export interface ProofOptions {
  htm: string
  htu: string
  /** The access token the proof is for (its `ath`); none for a proof without a token. */
  token?: string
  /** Seconds since the epoch. Default: now. */
  iat?: number
  jti?: string
  nonce?: string
  /** `ath` as given, instead of the token's hash. */
  ath?: string
  typ?: string
  /** The header's `jwk`. Default: the public key. */
  headerJwk?: JWK
  /** Leave out these claims. */
  omit?: string[]
}

/** The `ath` of a token, computed here independently of the code under test. */
export function ath(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export async function dpopClient(alg: 'ES256' | 'PS256' | 'EdDSA' = 'ES256'): Promise<DpopClient> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const privateJwk = await exportJWK(privateKey)
  return {
    jwk,
    privateJwk,
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    proof(o) {
      const claims: Record<string, unknown> = {
        jti: o.jti ?? randomUUID(),
        htm: o.htm,
        htu: o.htu,
        iat: o.iat ?? Math.floor(Date.now() / 1000),
      }
      if (o.token !== undefined || o.ath !== undefined) claims.ath = o.ath ?? ath(o.token!)
      if (o.nonce !== undefined) claims.nonce = o.nonce
      for (const name of o.omit ?? []) delete claims[name]
      return new SignJWT(claims)
        .setProtectedHeader({ alg, typ: o.typ ?? 'dpop+jwt', jwk: o.headerJwk ?? jwk })
        .sign(privateKey)
    },
  }
}

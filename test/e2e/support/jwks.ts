import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose'

/** The contract's defaults for `JWT_ISSUER` and `JWT_AUDIENCE`. */
export const ISSUER = 'https://issuer.example.test/'
export const AUDIENCE = 'notes-api'

/** What a token says; `sub` is the only required claim. */
export interface Claims extends JWTPayload {
  sub: string
  scope?: string
  scp?: string[]
  roles?: string[]
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

/** A signing key and the `kid` it is published under. */
export interface Signer {
  readonly kid: string
  /** Signs an ES256 token: issuer, audience, `iat` and a 5-minute `exp` unless the claims say otherwise. */
  sign(claims: Claims, header?: Record<string, unknown>): Promise<string>
}

async function signer(): Promise<Signer & { publicJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const kid = `e2e-${randomUUID()}`
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }
  return {
    kid,
    publicJwk,
    sign: (claims, header) => signWith(privateKey, kid, claims, header),
  }
}

function signWith(key: SigningKey, kid: string, claims: Claims, header?: Record<string, unknown>) {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT', ...header })
    .sign(key)
}

/** A real JWKS endpoint on loopback, publishing `trusted`; `unpublished` signs with a kid it never lists. */
export interface JwksServer {
  readonly url: string
  readonly trusted: Signer
  readonly unpublished: Signer
  /** The published key set, as served (the text an HS256 key-confusion attack would use). */
  readonly body: string
  /** How many times the key set was fetched. */
  readonly fetches: number
  /** Takes the endpoint down for good: new connections are refused. */
  stop(): Promise<void>
}

export async function startJwks(): Promise<JwksServer> {
  const trusted = await signer()
  const unpublished = await signer()
  let fetches = 0
  const body = JSON.stringify({ keys: [trusted.publicJwk] })
  const server: Server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end()
      return
    }
    fetches++
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  let stopped = false
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    trusted,
    unpublished,
    body,
    get fetches() {
      return fetches
    },
    async stop() {
      if (stopped) return
      stopped = true
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An unsigned token (`alg: none`) with otherwise valid claims. */
export function unsignedToken(claims: Claims): string {
  const now = Math.floor(Date.now() / 1000)
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims })}.`
}

/** An HS256 token whose HMAC key is the text of a published public key: the key-confusion attack. */
export async function keyConfusionToken(kid: string, publicJwk: string, claims: Claims): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
    .sign(new TextEncoder().encode(publicJwk))
}

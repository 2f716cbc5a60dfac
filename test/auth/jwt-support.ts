import { sign as cryptoSign, KeyObject, type webcrypto } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose'

export const ISSUER = 'https://id.example.test/'
export const AUDIENCE = 'https://api.example.test'

export type JwksMode = 'ok' | 'down' | 'garbage' | 'slow' | 'empty' | 'endless'

/** What `endless` offers: a chunked JWKS body of 64 MB, far over any sane `maxBytes`. */
export const ENDLESS_BYTES = 64 * 1024 * 1024

/** A real JWKS endpoint on loopback whose answers the test controls. */
export interface JwksServer {
  url: string
  /** Requests received so far. */
  hits: number
  mode: JwksMode
  slowMs: number
  keys: JWK[]
  /** Body bytes of `endless` answers handed to the socket so far. */
  streamed: number
  /** `endless` answers whose connection the client dropped before the end. */
  dropped: number
  close(): Promise<void>
}

/**
 * Streams a chunked JSON answer of `total` bytes, the next chunk only once the previous one left
 * for the socket, so `counters.streamed` tracks what the client took rather than what kernel
 * buffers would absorb; `counters.dropped` counts answers the client cut off.
 */
export function streamEndlessly(
  res: ServerResponse,
  counters: { streamed: number; dropped: number },
  total: number,
  tail: string,
): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  const chunk = Buffer.alloc(16_384, 0x20)
  let sent = 0
  res.on('close', () => {
    if (!res.writableFinished) counters.dropped++
  })
  const pump = () => {
    if (res.destroyed) return
    if (sent >= total) return void res.end(tail)
    sent += chunk.length
    counters.streamed += chunk.length
    res.write(chunk, () => setImmediate(pump))
  }
  pump()
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { hits: 0, mode: 'ok' as JwksMode, slowMs: 5000, keys, streamed: 0, dropped: 0 }
  const server: Server = createServer((_req, res) => {
    state.hits++
    const answer = () => {
      if (state.mode === 'endless') {
        streamEndlessly(res, state, ENDLESS_BYTES, '{"keys":[]}')
      } else if (state.mode === 'down') {
        res.writeHead(503).end('unavailable')
      } else if (state.mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ this is not json')
      } else if (state.mode === 'empty') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}')
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }))
      }
    }
    if (state.mode === 'slow') setTimeout(answer, state.slowMs).unref()
    else answer()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/jwks.json`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}

/** A server that only counts requests: `jku`/`x5u` targets that must never be fetched. */
export async function startTrap(): Promise<{ url: string; hits: number; close(): Promise<void> }> {
  const state = { hits: 0 }
  const server = createServer((_req, res) => {
    state.hits++
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/keys`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}

export interface SigningKey {
  alg: 'ES256' | 'RS256'
  kid: string
  privateKey: webcrypto.CryptoKey
  publicJwk: JWK
}

export async function signingKey(alg: 'ES256' | 'RS256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { alg, kid, privateKey, publicJwk }
}

/** A valid token for `key`, with the given claims over sensible defaults. */
export function sign(
  key: SigningKey,
  claims: JWTPayload = {},
  header: Record<string, unknown> = {},
  expiresIn = 600,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const payload: JWTPayload = {
    scope: 'notes:read notes:write',
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    iat: now,
    ...(expiresIn === 0 ? {} : { exp: now + expiresIn }),
    ...claims,
  }
  for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name]
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
    .sign(key.privateKey)
}

export const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** An unsigned token with any header and payload, for forgeries jose refuses to make. */
export function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signature = '',
): string {
  return `${b64(header)}.${b64(payload)}.${signature}`
}

export function standardClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { iss: ISSUER, aud: AUDIENCE, sub: 'mallory', iat: now, exp: now + 600, ...extra }
}

/**
 * Signs any header and payload with an ES256 key, for headers jose refuses to produce. A string
 * payload is signed as it is, for JSON text that no object serialises to (`"exp": 1e309`).
 */
export function signRaw(
  key: SigningKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
): string {
  const input = `${b64(header)}.${b64(payload)}`
  const signature = cryptoSign('sha256', Buffer.from(input), {
    key: KeyObject.from(key.privateKey),
    dsaEncoding: 'ieee-p1363',
  })
  return `${input}.${signature.toString('base64url')}`
}

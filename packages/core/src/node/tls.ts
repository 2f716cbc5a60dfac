import type { TLSSocket } from 'node:tls'
import type { TlsInfo } from '../request.js'

/**
 * The TLS facts of a Node socket for `SecurityRequest.tls`: whether the peer's chain was verified
 * by the server's `ca`, why not, and the peer certificate with its issuers
 * (`getPeerCertificate(true)`). `undefined` on a plain connection.
 */
export function tlsInfo(socket: unknown): TlsInfo | undefined {
  const tls = socket as Partial<TLSSocket> | null | undefined
  if (tls?.encrypted !== true || typeof tls.getPeerCertificate !== 'function') return undefined
  return {
    authorized: tls.authorized === true,
    authorizationError: tls.authorizationError === undefined ? undefined : String(tls.authorizationError),
    peerCertificate: tls.getPeerCertificate(true),
  }
}

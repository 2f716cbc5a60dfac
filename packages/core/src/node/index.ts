/**
 * The Node.js parts of the core contract: the `SecurityRequest` of an `IncomingMessage` and the
 * TLS facts of a Node socket. The main entry runs on any runtime (Node, Bun, Deno, workers);
 * import this subpath only where Node's `http` objects are at hand.
 */

export type { IncomingHttpHeaders } from 'node:http'
export type { TlsInfo } from '../request.js'
export { NodeSecurityRequest } from './request.js'
export { tlsInfo } from './tls.js'

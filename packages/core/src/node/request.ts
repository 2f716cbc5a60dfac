import type { IncomingMessage } from 'node:http'
import { clientAddress } from '../ip.js'
import { mediaTypeMatches, mediaTypeOf } from '../media-type.js'
import { absoluteFormHost, normalizePath, originForm, type RoutingPolicy, routerPath } from '../path.js'
import type { ProxyTrust, SecurityRequest, TlsInfo } from '../request.js'
import { tlsInfo } from './tls.js'

// The spelling of the last address seen: a keep-alive connection sends request after request
// from one address, which then costs one comparison instead of a parse.
let lastAddress = ''
let lastSpelling = ''
const sameClient = (address: string): string => {
  if (address !== lastAddress) {
    lastSpelling = clientAddress(address)
    lastAddress = address
  }
  return lastSpelling
}

/**
 * The `SecurityRequest` of a Node.js `IncomingMessage`; adapters extend it with what only their
 * framework knows (IP after trust-proxy, params, parsed query and body, route pattern).
 */
export abstract class NodeSecurityRequest implements SecurityRequest {
  readonly raw: IncomingMessage
  #path: string | undefined
  #matchPath: string | undefined
  #ip: string | undefined | null = null

  constructor(raw: IncomingMessage) {
    this.raw = raw
  }

  get method(): string {
    return this.raw.method ?? 'GET'
  }

  /**
   * The request target as the client sent it. Frameworks that rewrite `raw.url` inside mounted
   * routers or apps (Express, koa-mount) override it with their original URL, so guards there
   * still see the whole path.
   */
  protected get url(): string {
    return this.raw.url ?? '/'
  }

  get rawPath(): string {
    const url = originForm(this.url)
    const q = url.indexOf('?')
    return q === -1 ? url : url.slice(0, q)
  }

  get protocol(): 'http' | 'https' {
    const protocol = this.frameworkProtocol
    return protocol === 'https' || protocol?.toLowerCase() === 'https' ? 'https' : 'http'
  }

  /**
   * Resolved once (frameworks walk their trust-proxy rules on every read) and in one spelling
   * (`clientAddress`: no port, IPv4-mapped IPv6 as IPv4).
   */
  get ip(): string | undefined {
    if (this.#ip === null) {
      const ip = this.frameworkIp
      this.#ip = ip === undefined ? undefined : sameClient(ip)
    }
    return this.#ip
  }

  get peerAddress(): string | undefined {
    const address = this.raw.socket?.remoteAddress
    return address === undefined ? undefined : clientAddress(address)
  }

  get secure(): boolean {
    return this.protocol === 'https'
  }

  get host(): string | undefined {
    const host = absoluteFormHost(this.url) ?? this.frameworkHost
    return host === undefined || host === '' ? undefined : host.toLowerCase()
  }

  get contentType(): string | undefined {
    return mediaTypeOf(this.header('content-type'))
  }

  is(...types: string[]): boolean {
    return mediaTypeMatches(this.contentType, types)
  }

  get path(): string {
    if (this.#path === undefined) this.#path = normalizePath(this.url)
    return this.#path
  }

  get matchPath(): string {
    if (this.#matchPath === undefined) this.#matchPath = routerPath(this.path, this.rawPath, this.routing)
    return this.#matchPath
  }

  header(name: string): string | undefined {
    // Node's headers object has a prototype: `constructor` or `__proto__` would read what it inherits.
    const value = this.raw.headers[name]
    if (typeof value === 'string') return value
    return Array.isArray(value) ? value.join(', ') : undefined
  }

  headerValues(name: string): readonly string[] | undefined {
    // A scan of rawHeaders: `headersDistinct` would build an array for every header.
    const raw = this.raw.rawHeaders
    const length = name.length
    let found: string[] | undefined
    for (let i = 0; i < raw.length; i += 2) {
      const header = raw[i]!
      if (header.length === length && header.toLowerCase() === name) {
        if (found === undefined) found = [raw[i + 1]!]
        else found.push(raw[i + 1]!)
      }
    }
    return found
  }

  get tls(): TlsInfo | undefined {
    return tlsInfo(this.raw.socket)
  }

  /** The framework's trust in forwarding headers; `undefined` unless the adapter tells. */
  /** The matched route's options; `undefined` unless the adapter tells. */
  get routeConfig(): Readonly<Record<string, unknown>> | undefined {
    return undefined
  }

  get proxyTrust(): ProxyTrust | undefined {
    return undefined
  }

  abstract readonly route: string | undefined
  abstract readonly routing: RoutingPolicy
  /** The protocol as the framework resolved it (any case; anything but `https` is `http`). */
  protected abstract readonly frameworkProtocol: string | undefined
  /** The host as the framework resolved it (`Host`, or a trusted proxy's `X-Forwarded-Host`). */
  protected abstract readonly frameworkHost: string | undefined
  /** The client IP as the framework resolved it under its trust-proxy setting. */
  protected abstract readonly frameworkIp: string | undefined
  abstract readonly query: Readonly<Record<string, unknown>>
  abstract readonly params: Readonly<Record<string, string>>
  abstract readonly body: unknown
}

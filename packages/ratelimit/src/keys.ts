import type { SecurityContext } from '@apiward/core'
import type { IpResolver } from './client-ip.js'
import { hashKey } from './hash.js'
import { ipKey } from './ip.js'

/**
 * Who or what a limit counts:
 *
 * - `'ip'`: the client IP (IPv6 grouped by network, see `ipv6Subnet`);
 * - `'principal'`: the authenticated principal's id (put the limiter after the authentication
 *   guard); anonymous requests count by IP;
 * - `'apiKey'`: the API key header (`apiKeyHeader`); requests without one count by IP;
 * - `'route'`: the route pattern when the router knows it (`/notes/:id`), otherwise the path as
 *   the router compares it (`'path'`);
 * - `'path'`: the normalised path folded as the serving router folds it (`ctx.req.matchPath`):
 *   with Express's and @koa/router's defaults `/login`, `/LOGIN`, `/login/`, `/%6cogin` and
 *   `http://any.host/login` are one bucket; on Fastify (case-sensitive, strict by default)
 *   `/LOGIN` is a bucket of its own, as it is a route of its own;
 * - a function of the context returning a string; `undefined` counts by IP.
 *
 * An array combines sources: `['route', 'ip']` counts each client on each route. API keys,
 * principals and function results are hashed (SHA-256) before they become store keys.
 */
export type RateLimitKey =
  | 'ip'
  | 'principal'
  | 'apiKey'
  | 'route'
  | 'path'
  | ((ctx: SecurityContext) => string | undefined)

/** Options that decide the key of a request. */
export interface KeyOptions {
  /** What the limit counts. Default `'ip'`. See {@link RateLimitKey}. */
  key?: RateLimitKey | readonly RateLimitKey[]
  /** The header that carries an API key, for `key: 'apiKey'`. Default `'x-api-key'`. */
  apiKeyHeader?: string
  /**
   * The IPv6 prefix length that counts as one client. Default 64: a subscriber usually gets a
   * whole /64 and can rotate through its 2^64 addresses at will, so counting single IPv6
   * addresses would let it pick a fresh bucket per request.
   */
  ipv6Subnet?: number
}

type Part = (ctx: SecurityContext, ip: string | undefined) => string

/**
 * Builds the key function of a limiter. It takes the client IP when the guard already resolved
 * it, and resolves it itself only when a source needs it.
 */
export function keyBuilder(options: KeyOptions, resolveIp: IpResolver, where: string): Part {
  const v6 = options.ipv6Subnet ?? 64
  if (typeof v6 !== 'number' || !Number.isInteger(v6) || v6 < 1 || v6 > 128) {
    throw new TypeError(`${where}: ipv6Subnet must be an integer from 1 to 128, got ${String(v6)}`)
  }
  const header = options.apiKeyHeader ?? 'x-api-key'
  if (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
    throw new TypeError(`${where}: apiKeyHeader must be a header name, got ${String(header)}`)
  }
  const apiKeyHeader = header.toLowerCase()
  // The key of the last address seen: a client on a keep-alive connection sends the same
  // address string request after request, and the same key string keeps its hash for the store.
  let lastAddress: string | undefined
  let lastKey = 'i:unknown'
  const byIp: Part = (ctx, ip) => {
    const address = ip ?? resolveIp(ctx)
    if (address === undefined) return 'i:unknown'
    if (address !== lastAddress) {
      lastKey = `i:${ipKey(address, v6)}`
      lastAddress = address
    }
    return lastKey
  }
  const part = (source: unknown): Part => {
    switch (source) {
      case 'ip':
        return byIp
      case 'principal':
        return (ctx, ip) => {
          const id = ctx.principal?.id
          return id === undefined ? byIp(ctx, ip) : `p:${hashKey(id)}`
        }
      case 'apiKey':
        return (ctx, ip) => {
          const value = ctx.req.header(apiKeyHeader)
          return value === undefined || value === '' ? byIp(ctx, ip) : `k:${hashKey(value)}`
        }
      case 'route':
        return (ctx) => `r:${ctx.req.route ?? ctx.req.matchPath}`
      case 'path':
        return (ctx) => `r:${ctx.req.matchPath}`
      default:
        if (typeof source === 'function') {
          const fn = source as (ctx: SecurityContext) => unknown
          return (ctx, ip) => {
            const value = fn(ctx)
            if (typeof value === 'string') return `f:${hashKey(value)}`
            if (typeof value === 'number') return `f:${hashKey(String(value))}`
            return byIp(ctx, ip)
          }
        }
        throw new TypeError(
          `${where}: key must be 'ip', 'principal', 'apiKey', 'route', 'path', a function (ctx) => string, or an array of these; got ${String(source)}`,
        )
    }
  }
  const sources =
    options.key === undefined ? ['ip'] : Array.isArray(options.key) ? options.key : [options.key]
  if (sources.length === 0) throw new TypeError(`${where}: key must not be an empty array`)
  const parts = sources.map(part)
  if (parts.length === 1) return parts[0]!
  return (ctx, ip) => {
    let key = parts[0]!(ctx, ip)
    for (let i = 1; i < parts.length; i++) key += `|${parts[i]!(ctx, ip)}`
    return key
  }
}

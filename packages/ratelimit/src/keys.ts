import { parseClientIp, type SecurityContext, warnOnce } from '@apiward/core'
import { type CallbackSite, callbackFailed, wrongAnswer } from './callbacks.js'
import { type IpResolver, type Ipv6GroupingOptions, ipBucket, ipv6SubnetOption } from './client-ip.js'
import { hashKey } from './hash.js'

/**
 * Who or what a limit counts:
 *
 * - `'ip'`: the client IP (IPv6 grouped by network, see `ipv6Subnet`);
 * - `'principal'`: the authenticated principal's id (put the limiter after the authentication
 *   guard); anonymous requests count by IP;
 * - `'apiKey'`: the API key that `apiKey()` verified (a principal with credential `api_key`, by
 *   its key id), so put the limiter after `apiKey()`; any other request counts by IP, because a
 *   key nobody checked is whatever the client wrote and would give each made-up key a bucket;
 * - `'route'`: the route pattern when the router knows it (`/notes/:id`), otherwise the path as
 *   the router compares it (`'path'`);
 * - `'path'`: the normalised path folded as the serving router folds it (`ctx.req.matchPath`):
 *   with Express's and @koa/router's defaults `/login`, `/LOGIN`, `/login/`, `/%6cogin` and
 *   `http://any.host/login` are one bucket; on Fastify (case-sensitive, strict by default)
 *   `/LOGIN` is a bucket of its own, as it is a route of its own;
 * - a function of the context returning a string; `undefined` counts by IP. Fall back to
 *   `ipKeyOf(ctx.req.ip)` rather than the raw IP, which keys IPv6 clients by full address (a
 *   full IPv6 address returned here is warned about once, `APIWARD_IPV6_KEY`). It must answer
 *   synchronously; when it throws or answers a promise or anything but a string, a number or
 *   `undefined`, the request is refused (503 `ratelimit.unavailable`, a `ratelimit.error` event).
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
export interface KeyOptions extends Ipv6GroupingOptions {
  /** What the limit counts. Default `'ip'`. See {@link RateLimitKey}. */
  key?: RateLimitKey | readonly RateLimitKey[]
}

type Part = (ctx: SecurityContext, ip: string | undefined) => string

/**
 * Builds the key function of a limiter. It takes the client IP when the guard already resolved
 * it, and resolves it itself only when a source needs it.
 */
export function keyBuilder(options: KeyOptions, resolveIp: IpResolver, where: string): Part {
  const v6 = ipv6SubnetOption(options, where)
  // The key of the last address seen: a client on a keep-alive connection sends the same
  // address string request after request, and the same key string keeps its hash for the store.
  // `null` until the first request, so a first request without an address is warned about too.
  let lastAddress: string | undefined | null = null
  let lastKey = ''
  const byIp: Part = (ctx, ip) => {
    const address = ip ?? resolveIp(ctx)
    if (address !== lastAddress) {
      lastKey = `i:${ipBucket(address, v6)}`
      lastAddress = address
    }
    return lastKey
  }
  let lastKeyId: string | undefined
  let lastKeyHash = ''
  const part = (source: unknown): Part => {
    switch (source) {
      case 'ip':
        return byIp
      case 'principal': {
        // The key of the last principal seen: a client sends request after request as the same
        // principal, and its hash then costs one comparison.
        let lastId: string | undefined
        let lastHash = ''
        return (ctx, ip) => {
          const id = ctx.principal?.id
          if (id === undefined) return byIp(ctx, ip)
          if (id !== lastId) {
            lastHash = `p:${hashKey(id)}`
            lastId = id
          }
          return lastHash
        }
      }
      case 'apiKey':
        return (ctx, ip) => {
          const principal = ctx.principal
          if (principal?.credential !== 'api_key') return byIp(ctx, ip)
          const keyId = principal.claims.api_key_id
          const id = typeof keyId === 'string' ? keyId : principal.id
          if (id !== lastKeyId) {
            lastKeyHash = `k:${hashKey(id)}`
            lastKeyId = id
          }
          return lastKeyHash
        }
      case 'route':
        return (ctx) => `r:${ctx.req.route ?? ctx.req.matchPath}`
      case 'path':
        return (ctx) => `r:${ctx.req.matchPath}`
      default:
        if (typeof source === 'function') {
          return functionPart(source as (ctx: SecurityContext) => unknown, byIp)
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

const KEY_SITE: CallbackSite = { guard: 'rateLimit', callback: 'key' }

let bareIpv6Warned = false

/** Warns once when a key function hands back a full IPv6 address instead of its network. */
function checkBareIpv6(value: string): void {
  if (!value.includes(':') || parseClientIp(value)?.version !== 6) return
  bareIpv6Warned = true
  warnOnce(
    'APIWARD_IPV6_KEY',
    "A rateLimit() key function returned a full IPv6 address: a client rotating addresses inside its /64 gets a fresh bucket per address. Return ipKeyOf(ip) from @apiward/ratelimit instead (the /64 network, as key: 'ip' counts).",
    'ratelimit.md#keys',
  )
}

/** A key function as a key part: its answer hashed, `undefined` by IP, anything else refused. */
function functionPart(fn: (ctx: SecurityContext) => unknown, byIp: Part): Part {
  return (ctx, ip) => {
    let value: unknown
    try {
      value = fn(ctx)
    } catch (err) {
      throw callbackFailed(ctx, KEY_SITE, err)
    }
    if (typeof value === 'string') {
      if (!bareIpv6Warned) checkBareIpv6(value)
      return `f:${hashKey(value)}`
    }
    if (value === undefined || value === null) return byIp(ctx, ip)
    if (typeof value === 'number' && Number.isFinite(value)) return `f:${hashKey(String(value))}`
    throw wrongAnswer(ctx, KEY_SITE, value, 'a string, a number or undefined')
  }
}

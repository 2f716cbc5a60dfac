import type { SecurityContext } from '@apiward/core'
import { NON_PUBLIC_RANGES } from './ip.js'

/** How a guard learns the client IP. */
export interface ClientIpOptions {
  /**
   * Where the client IP comes from. Default: the IP the framework resolved (`ctx.req.ip`), so
   * its trust-proxy setting holds (Express `trust proxy`, Koa `proxy`/`maxIpsCount`, Fastify
   * `trustProxy`). Configure the proxy there rather than here.
   *
   * A function may read another source, such as a header your edge sets and overwrites
   * (`CF-Connecting-IP`). An answer that comes from `X-Forwarded-For`, `X-Real-IP` or `Forwarded`
   * while the framework resolved another IP is refused (the framework IP is used and a warning
   * is emitted once), because any client can send those headers: see
   * `dangerouslyTrustForwardedFor`.
   */
  ipFrom?: (ctx: SecurityContext) => string | undefined
  /**
   * Accept an `ipFrom` that reads forwarding headers the framework does not trust. Default
   * `false`: a client that sets `X-Forwarded-For` itself would otherwise pick its own rate-limit
   * bucket on every request. Only for deployments where every request crosses a proxy that
   * overwrites the header.
   */
  dangerouslyTrustForwardedFor?: boolean
}

/** Resolves the client IP of a request, as a guard sees it. */
export type IpResolver = (ctx: SecurityContext) => string | undefined

const FORWARDING_HEADERS = ['x-forwarded-for', 'x-real-ip', 'forwarded'] as const

let untrustedProxyWarned = false
let refusedIpFromWarned = false

function listsAddress(value: string, ip: string): boolean {
  if (!value.includes(ip)) return false
  for (const raw of value.split(',')) {
    let entry = raw.trim()
    const forIndex = entry.toLowerCase().indexOf('for=')
    if (forIndex !== -1) {
      entry = entry
        .slice(forIndex + 4)
        .split(';')[0]!
        .trim()
        .replace(/^"|"$/g, '')
      if (entry.startsWith('[')) entry = entry.slice(1, entry.indexOf(']'))
    }
    if (entry === ip) return true
  }
  return false
}

function warnUntrustedProxy(ctx: SecurityContext, ip: string | undefined): void {
  const forwarded = ctx.req.header('x-forwarded-for')
  if (forwarded === undefined || ip === undefined) return
  if (listsAddress(forwarded, ip) || !NON_PUBLIC_RANGES.hasAddress(ip)) return
  untrustedProxyWarned = true
  process.emitWarning(
    `Requests carry X-Forwarded-For but their client IP (${ip}) is the proxy's own address: no proxy is trusted, so every client behind it shares one rate-limit bucket. Trust your proxy in the framework (Express: app.set('trust proxy', 1); Koa: app.proxy = true with app.maxIpsCount = 1; Fastify: trustProxy: '<your proxy address>', a hop count trusts nothing on Fastify 5).`,
    { code: 'APIWARD_UNTRUSTED_PROXY' },
  )
}

function fromFramework(ctx: SecurityContext): string | undefined {
  const ip = ctx.req.ip
  if (!untrustedProxyWarned) warnUntrustedProxy(ctx, ip)
  return ip
}

/**
 * Builds the IP resolver of a guard from its options; `where` names the factory in errors.
 */
export function ipResolver(options: ClientIpOptions, where: string): IpResolver {
  const { ipFrom, dangerouslyTrustForwardedFor } = options
  if (dangerouslyTrustForwardedFor !== undefined && typeof dangerouslyTrustForwardedFor !== 'boolean') {
    throw new TypeError(`${where}: dangerouslyTrustForwardedFor must be a boolean`)
  }
  if (ipFrom === undefined) {
    if (dangerouslyTrustForwardedFor === true) {
      throw new TypeError(
        `${where}: dangerouslyTrustForwardedFor only applies to a custom ipFrom; to use X-Forwarded-For, trust your proxy in the framework (Express 'trust proxy', Koa app.proxy, Fastify trustProxy)`,
      )
    }
    return fromFramework
  }
  if (typeof ipFrom !== 'function') {
    throw new TypeError(`${where}: ipFrom must be a function (ctx) => string | undefined`)
  }
  if (dangerouslyTrustForwardedFor === true) return ipFrom
  return (ctx) => {
    const ip = ipFrom(ctx)
    if (ip === undefined) return ctx.req.ip
    if (ip === ctx.req.ip) return ip
    for (const name of FORWARDING_HEADERS) {
      const value = ctx.req.header(name)
      if (value !== undefined && listsAddress(value, ip)) {
        if (!refusedIpFromWarned) {
          refusedIpFromWarned = true
          process.emitWarning(
            `ipFrom returned an address taken from ${name}, which any client can set; the framework's IP is used instead. Trust your proxy in the framework, or set dangerouslyTrustForwardedFor if a proxy always overwrites the header.`,
            { code: 'APIWARD_FORWARDED_IP_REFUSED' },
          )
        }
        return ctx.req.ip
      }
    }
    return ip
  }
}

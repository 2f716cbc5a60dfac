import { hasWarned, ipKey, type SecurityContext, warnOnce } from '@apiward/core'
import { type CallbackSite, callbackFailed, wrongAnswer } from './callbacks.js'

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
   * `dangerouslyTrustForwardedFor`. `undefined` (or `null`) means the framework's IP.
   *
   * It must answer synchronously. When it throws, returns a promise or anything but a string,
   * the request is refused with a 503 `ratelimit.unavailable` and a `ratelimit.error` event (a
   * promise also warns once, `APIWARD_ASYNC_CALLBACK`): a guard that cannot tell who is calling
   * must not guess.
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

/** How a guard groups IPv6 clients. */
export interface Ipv6GroupingOptions {
  /**
   * The IPv6 prefix length that counts as one client, 32 to 64. Default 64: a subscriber usually
   * gets a whole /64 (often a /56 or /48) and can rotate through its 2^64 addresses at will, so
   * counting single IPv6 addresses would let it pick a fresh bucket per request.
   */
  ipv6Subnet?: number
  /**
   * Accept an `ipv6Subnet` outside 32 to 64. Default `false`: a longer prefix (up to /128) lets a
   * client rotating inside its /64 escape the limit, a shorter one puts whole providers in one
   * bucket. Only for networks you know, e.g. a private /96 per container.
   */
  dangerouslyAllowAnyIpv6Subnet?: boolean
}

/** Reads and checks `ipv6Subnet` and `dangerouslyAllowAnyIpv6Subnet`; `where` names the factory. */
export function ipv6SubnetOption(options: Ipv6GroupingOptions, where: string): number {
  const { ipv6Subnet, dangerouslyAllowAnyIpv6Subnet: any } = options
  if (any !== undefined && typeof any !== 'boolean') {
    throw new TypeError(`${where}: dangerouslyAllowAnyIpv6Subnet must be true or false`)
  }
  const prefix = ipv6Subnet ?? 64
  if (typeof prefix !== 'number' || !Number.isInteger(prefix) || prefix < 1 || prefix > 128) {
    throw new TypeError(`${where}: ipv6Subnet must be an integer from 32 to 64, got ${String(prefix)}`)
  }
  const usual = prefix >= 32 && prefix <= 64
  if (!usual && any !== true) {
    throw new TypeError(
      `${where}: ipv6Subnet must be from 32 to 64, got ${prefix}: ${prefix > 64 ? 'a client could rotate addresses inside its /64 to escape the limit' : 'whole providers would share one bucket'}; set dangerouslyAllowAnyIpv6Subnet: true if this network is meant`,
    )
  }
  if (usual && any === true) {
    throw new TypeError(
      `${where}: dangerouslyAllowAnyIpv6Subnet only applies to an ipv6Subnet outside 32 to 64; remove it`,
    )
  }
  return prefix
}

/** Resolves the client IP of a request, as a guard sees it. */
export type IpResolver = (ctx: SecurityContext) => string | undefined

const FORWARDING_HEADERS = ['x-forwarded-for', 'x-real-ip', 'forwarded'] as const

const PERMISSIVE = 'APIWARD_PERMISSIVE_TRUST_PROXY'
const UNTRUSTED = 'APIWARD_UNTRUSTED_PROXY'
const FORWARDED = 'APIWARD_FORWARDED_HEADER'

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

const TRUST_FIX =
  "Trust only your own proxies in the framework (Express: app.set('trust proxy', 1); Koa: app.proxy = true with app.maxIpsCount = 1; Fastify: trustProxy: '<your proxy address>', a hop count trusts nothing on Fastify 5)."

/**
 * The deployment checks of the framework's IP, each warned once per process (express-rate-limit's
 * `ERR_ERL_PERMISSIVE_TRUST_PROXY`, `ERR_ERL_UNEXPECTED_X_FORWARDED_FOR` and
 * `ERR_ERL_FORWARDED_HEADER` are the model).
 */
function checkDeployment(ctx: SecurityContext, ip: string | undefined): void {
  const req = ctx.req
  if (req.proxyTrust === 'any') {
    warnOnce(
      PERMISSIVE,
      `The framework trusts every proxy (Express 'trust proxy' true, Koa app.proxy without app.maxIpsCount, Fastify trustProxy: true): the client IP is the leftmost X-Forwarded-For entry, which any client writes, so every client can pick a fresh rate-limit bucket per request. ${TRUST_FIX}`,
      'ratelimit.md#the-client-ip',
    )
  }
  if (ip === undefined) return
  if (!hasWarned(UNTRUSTED)) {
    const forwarded = req.header('x-forwarded-for')
    if (forwarded !== undefined && !listsAddress(forwarded, ip)) {
      warnOnce(
        UNTRUSTED,
        `Requests carry X-Forwarded-For but their client IP (${ip}) is not among its entries: the framework trusts no proxy, so when they cross one (a load balancer, a CDN), every client behind it shares the proxy's rate-limit bucket. ${TRUST_FIX} Without a proxy, a client sent the header itself and nothing needs to change.`,
        'ratelimit.md#the-client-ip',
      )
    }
  }
  if (!hasWarned(FORWARDED)) {
    const forwarded = req.header('forwarded')
    if (forwarded !== undefined && !listsAddress(forwarded, ip)) {
      warnOnce(
        FORWARDED,
        `Requests carry the RFC 7239 Forwarded header, which Express, Koa and Fastify do not read: the client IP (${ip}) is the connection's or X-Forwarded-For's. Have your proxy send X-Forwarded-For and trust it in the framework, or read the address your proxy writes with ipFrom.`,
        'ratelimit.md#the-client-ip',
      )
    }
  }
}

/**
 * How many requests of a guard the deployment checks look at. A proxy in front sends its headers
 * on every request, so the first ones tell (express-rate-limit checks only its first); checking
 * every request would cost each a few header scans for warnings that are given once.
 */
const CHECKED_REQUESTS = 16

/** The framework's IP, with the deployment checks on the guard's first requests. */
function fromFramework(): IpResolver {
  let checked = 0
  return (ctx) => {
    const ip = ctx.req.ip
    if (checked < CHECKED_REQUESTS) {
      checked++
      if (!(hasWarned(UNTRUSTED) && hasWarned(PERMISSIVE) && hasWarned(FORWARDED))) checkDeployment(ctx, ip)
    }
    return ip
  }
}

/** The bucket of every request whose client address is missing. */
export const UNKNOWN_IP = 'unknown'
/** The bucket of every request whose client address is not an IP address, even without a port. */
export const UNPARSABLE_IP = 'unparsable'

/**
 * The identity a guard counts a client address by (see `ipKey`). An address that is missing or
 * not an IP address is warned about once and counted in one shared bucket of its kind: keyed by
 * its raw text, a client that can vary the text (a proxy appending the source port, junk in a
 * header `ipFrom` reads) would get a fresh bucket per variant.
 */
export function ipBucket(address: string | undefined, ipv6Subnet: number): string {
  if (address === undefined) {
    warnOnce(
      'APIWARD_MISSING_IP',
      'A request reached a rate limiter without a client IP (the connection closed early, or ipFrom and the framework found none): such requests share one bucket. Check that the framework resolves the client IP.',
      'ratelimit.md#the-client-ip',
    )
    return UNKNOWN_IP
  }
  const key = ipKey(address, ipv6Subnet)
  if (key !== undefined) return key
  warnOnce(
    'APIWARD_UNPARSABLE_IP',
    `The client address ${JSON.stringify(address.slice(0, 64))} is not an IP address (a port is allowed): such requests share one bucket. Check the framework's trust-proxy setting and what your proxy writes in X-Forwarded-For, or ipFrom.`,
    'ratelimit.md#the-client-ip',
  )
  return UNPARSABLE_IP
}

/**
 * Builds the IP resolver of a guard from its options; `guard` names the guard in errors and
 * events (`rateLimit`, `bruteForce`, `ipFilter`).
 */
export function ipResolver(options: ClientIpOptions, guard: string): IpResolver {
  const where = `${guard}()`
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
    return fromFramework()
  }
  if (typeof ipFrom !== 'function') {
    throw new TypeError(`${where}: ipFrom must be a function (ctx) => string | undefined`)
  }
  const site: CallbackSite = { guard, callback: 'ipFrom' }
  const trusted = dangerouslyTrustForwardedFor === true
  return (ctx) => {
    let ip: unknown
    try {
      ip = ipFrom(ctx)
    } catch (err) {
      throw callbackFailed(ctx, site, err)
    }
    if (ip === undefined || ip === null) return ctx.req.ip
    if (typeof ip !== 'string') throw wrongAnswer(ctx, site, ip, 'an IP address (a string) or undefined')
    if (trusted || ip === ctx.req.ip) return ip
    for (const name of FORWARDING_HEADERS) {
      const value = ctx.req.header(name)
      if (value !== undefined && listsAddress(value, ip)) {
        warnOnce(
          'APIWARD_FORWARDED_IP_REFUSED',
          `ipFrom returned an address taken from ${name}, which any client can set; the framework's IP is used instead. Trust your proxy in the framework, or set dangerouslyTrustForwardedFor if a proxy always overwrites the header.`,
          'ratelimit.md#the-client-ip',
        )
        return ctx.req.ip
      }
    }
    return ip
  }
}

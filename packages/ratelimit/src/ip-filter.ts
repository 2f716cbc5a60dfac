import {
  CidrSet,
  checkOptions,
  defineGuard,
  type Guard,
  type KnownOptions,
  parseClientIp,
} from '@apiward/core'
import { Forbidden } from '@apiward/errors'
import { type ClientIpOptions, ipResolver } from './client-ip.js'

/** Options of {@link ipFilter}. */
export interface IpFilterOptions extends ClientIpOptions {
  /**
   * When given and not empty, only client IPs in these addresses or CIDR ranges (IPv4 and
   * IPv6, e.g. `'10.0.0.0/8'`, `'2001:db8::/32'`) are let through.
   */
  allow?: readonly string[]
  /** Client IPs in these addresses or CIDR ranges are refused, even when `allow` lists them. */
  deny?: readonly string[]
}

const MISTAKES = {
  allowlist: 'allow',
  denylist: 'deny',
  whitelist: 'allow',
  blacklist: 'deny',
}

const IP_FILTER_OPTIONS = {
  allow: true,
  deny: true,
  ipFrom: true,
  dangerouslyTrustForwardedFor: true,
} satisfies KnownOptions<IpFilterOptions>

function ranges(value: unknown, name: string, where: string): CidrSet | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw new TypeError(`${where}: ${name} must be an array of IPs or CIDR ranges`)
  return value.length === 0 ? undefined : new CidrSet(value, `${where} ${name}`)
}

/**
 * Lets requests through by client IP: an allow list, a deny list, or both (deny wins). Ranges
 * are precomputed at build time; a lookup costs one set probe per distinct prefix length. A
 * refusal is a 403 problem (`ipfilter.denied`) and an `ipfilter.denied` security event. A client
 * whose IP is unknown or unreadable is refused; a port after the address (`203.0.113.7:5678`,
 * `[2001:db8::1]:443`) is dropped.
 *
 * @example
 * ```ts
 * app.use('/admin', guard(ipFilter({ allow: ['10.0.0.0/8', 'fd00::/8'] })))
 * app.use(guard(ipFilter({ deny: ['203.0.113.0/24'] })))
 * ```
 */
export function ipFilter(options: IpFilterOptions): Guard {
  const where = 'ipFilter()'
  checkOptions<IpFilterOptions>(options, where, IP_FILTER_OPTIONS, MISTAKES)
  const allow = ranges(options.allow, 'allow', where)
  const deny = ranges(options.deny, 'deny', where)
  if (allow === undefined && deny === undefined) {
    throw new TypeError(`${where}: give a non-empty allow or deny list, e.g. { allow: ['10.0.0.0/8'] }`)
  }
  const resolveIp = ipResolver(options, 'ipFilter')
  return defineGuard(
    (ctx) => {
      const ip = resolveIp(ctx)
      const parsed = ip === undefined ? undefined : parseClientIp(ip)
      if (parsed !== undefined && !deny?.has(parsed) && (allow === undefined || allow.has(parsed))) return
      ctx.emit('ipfilter.denied', { severity: 'warn', code: 'ipfilter.denied' })
      throw new Forbidden({ code: 'ipfilter.denied', detail: 'Requests from this address are not allowed.' })
    },
    { guardName: 'ipFilter', needsBody: false, kind: 'access' },
  )
}

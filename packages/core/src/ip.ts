/** An IP address: IPv4 as one unsigned 32-bit number, IPv6 as eight 16-bit groups. */
export type ParsedIp =
  | { readonly version: 4; readonly value: number }
  | { readonly version: 6; readonly groups: number[] }

/** Parses a dotted-quad IPv4 address; leading zeros are refused (they read as octal elsewhere). */
export function parseIPv4(text: string): number | undefined {
  let value = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined
      value = value * 256 + octet
      octet = 0
      digits = 0
      dots++
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined
      octet = octet * 10 + (c - 48)
      if (octet > 255 || ++digits > 3) return undefined
    } else return undefined
  }
  if (dots !== 3 || digits === 0) return undefined
  return value * 256 + octet
}

function parseHexGroup(text: string): number | undefined {
  if (text.length === 0 || text.length > 4) return undefined
  let value = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    let digit: number
    if (c >= 48 && c <= 57) digit = c - 48
    else if (c >= 97 && c <= 102) digit = c - 87
    else if (c >= 65 && c <= 70) digit = c - 55
    else return undefined
    value = value * 16 + digit
  }
  return value
}

function parseGroups(text: string, out: number[], allowIPv4Tail: boolean): boolean {
  if (text === '') return true
  const parts = text.split(':')
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (allowIPv4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part)
      if (v4 === undefined) return false
      out.push(v4 >>> 16, v4 & 0xffff)
    } else {
      const group = parseHexGroup(part)
      if (group === undefined) return false
      out.push(group)
    }
  }
  return true
}

/** Parses an IPv6 address (`::` compression, an IPv4 tail, a `%zone` that is dropped). */
export function parseIPv6(input: string): number[] | undefined {
  let text = input
  const zone = text.indexOf('%')
  if (zone !== -1) text = text.slice(0, zone)
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1)
  const gap = text.indexOf('::')
  if (gap === -1) {
    const groups: number[] = []
    if (!parseGroups(text, groups, true) || groups.length !== 8) return undefined
    return groups
  }
  if (text.indexOf('::', gap + 1) !== -1) return undefined
  const head: number[] = []
  const tail: number[] = []
  if (!parseGroups(text.slice(0, gap), head, false) || !parseGroups(text.slice(gap + 2), tail, true)) {
    return undefined
  }
  const missing = 8 - head.length - tail.length
  if (missing < 1) return undefined
  for (let i = 0; i < missing; i++) head.push(0)
  for (const group of tail) head.push(group)
  return head
}

function isIPv4Mapped(groups: readonly number[]): boolean {
  return (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  )
}

/**
 * Parses an IPv4 or IPv6 address. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is the IPv4
 * address it carries, so one client has one identity on dual-stack sockets.
 */
export function parseIp(text: string): ParsedIp | undefined {
  if (!text.includes(':')) {
    const value = parseIPv4(text)
    return value === undefined ? undefined : { version: 4, value }
  }
  const groups = parseIPv6(text)
  if (groups === undefined) return undefined
  if (isIPv4Mapped(groups)) return { version: 4, value: groups[6]! * 0x10000 + groups[7]! }
  return { version: 6, groups }
}

/** Dotted-quad text of an IPv4 value. */
function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`
}

function maskIPv4(value: number, prefix: number): number {
  return prefix === 0 ? 0 : (value & (0xffffffff << (32 - prefix))) >>> 0
}

/** The first `prefix` bits of an IPv6 address as text, e.g. `2001:db8:0:1::/64`: one spelling per network. */
function ipv6NetworkKey(groups: readonly number[], prefix: number): string {
  let key = ''
  const full = prefix >>> 4
  for (let i = 0; i < full; i++) key += `${groups[i]!.toString(16)}:`
  const rest = prefix & 15
  if (rest !== 0) key += `${(groups[full]! & (0xffff << (16 - rest)) & 0xffff).toString(16)}:`
  return `${key}:/${prefix}`
}

function isPort(text: string, from: number): boolean {
  const length = text.length - from
  if (length < 1 || length > 5) return false
  let value = 0
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 48 || c > 57) return false
    value = value * 10 + (c - 48)
  }
  return value <= 65535
}

/**
 * The address of `a.b.c.d:port` or `[v6]:port` (a proxy that appends the source port to
 * `X-Forwarded-For`, passed on as is by the framework), or of `[v6]`; any other text as is.
 */
export function stripPort(text: string): string {
  if (text.charCodeAt(0) === 91) {
    const end = text.indexOf(']')
    if (end === text.length - 1) return text.slice(1, end)
    return end !== -1 && text.charCodeAt(end + 1) === 58 && isPort(text, end + 2) ? text.slice(1, end) : text
  }
  const colon = text.indexOf(':')
  if (colon === -1 || text.indexOf(':', colon + 1) !== -1 || !text.includes('.')) return text
  return isPort(text, colon + 1) ? text.slice(0, colon) : text
}

/**
 * A client address in one spelling: a port a proxy appended dropped (`203.0.113.7:5678`,
 * `[2001:db8::1]:443`), an IPv4-mapped IPv6 address as its IPv4 (`::ffff:192.0.2.1` is
 * `192.0.2.1`, as dual-stack sockets report IPv4 clients). Anything else is kept as it is.
 */
export function clientAddress(text: string): string {
  const bare = stripPort(text)
  if (bare.charCodeAt(0) !== 58 || !bare.toLowerCase().startsWith('::ffff:')) return bare
  const tail = bare.slice(7)
  return parseIPv4(tail) === undefined ? bare : tail
}

/** Parses a client address as a framework or a proxy may write it: with a port, in brackets. */
export function parseClientIp(text: string): ParsedIp | undefined {
  return parseIp(stripPort(text))
}

/**
 * The rate-limit identity of a client IP: an IPv4 address as is, an IPv6 address reduced to its
 * network of `ipv6Prefix` bits (one /64 is one subscriber: rotating addresses inside it changes
 * nothing), an IPv4-mapped IPv6 address as the IPv4 address, a port dropped. `undefined` for
 * text that is not an IP address, so that no caller keys by raw text a client may vary.
 */
export function ipKey(ip: string, ipv6Prefix: number): string | undefined {
  if (!ip.includes(':')) return parseIPv4(ip) === undefined ? undefined : ip
  const parsed = parseClientIp(ip)
  if (parsed === undefined) return undefined
  if (parsed.version === 4) return formatIPv4(parsed.value)
  return ipv6NetworkKey(parsed.groups, ipv6Prefix)
}

/**
 * The key `key: 'ip'` counts a client by, for key functions that fall back to the client IP:
 * IPv6 addresses grouped by their `/ipv6Subnet` network (a subscriber usually holds a whole /64
 * and can rotate through it, so a full IPv6 address would give it a fresh bucket per address),
 * IPv4-mapped IPv6 as IPv4, a port dropped (`203.0.113.7:5678` is `203.0.113.7`).
 *
 * Returns `undefined` when `ip` is missing or not an IP address: a key function that passes it
 * on counts the request by the limiter's own IP key, which warns about such addresses once.
 *
 * @param ip The client address, e.g. `ctx.req.ip`.
 * @param ipv6Subnet Prefix length of an IPv6 client, 1 to 128. Default 64.
 *
 * @example
 * ```ts
 * rateLimit({ points: 100, duration: 60, key: (ctx) => ctx.principal?.id ?? ipKeyOf(ctx.req.ip) })
 * ipKeyOf('2001:db8:1:2::7') // '2001:db8:1:2::/64'
 * ```
 */
export function ipKeyOf(ip: string | undefined, ipv6Subnet = 64): string | undefined {
  if (!Number.isInteger(ipv6Subnet) || ipv6Subnet < 1 || ipv6Subnet > 128) {
    throw new TypeError(`ipKeyOf(): ipv6Subnet must be an integer from 1 to 128, got ${String(ipv6Subnet)}`)
  }
  return typeof ip === 'string' ? ipKey(ip, ipv6Subnet) : undefined
}

/**
 * A set of CIDR ranges, precomputed for lookups that cost one set probe per distinct prefix
 * length rather than one comparison per range.
 */
export class CidrSet {
  readonly size: number
  readonly #v4: { prefix: number; networks: Set<number> }[] = []
  readonly #v6: { prefix: number; networks: Set<string> }[] = []

  /**
   * @param ranges `192.0.2.0/24`, `2001:db8::/32`, or single addresses. Host bits are ignored.
   * @param where Names the option in the `TypeError` thrown for an invalid entry.
   */
  constructor(ranges: Iterable<string>, where: string) {
    let size = 0
    for (const range of ranges) {
      if (typeof range !== 'string') {
        throw new TypeError(`${where}: expected CIDR strings such as '10.0.0.0/8', got ${typeof range}`)
      }
      this.#add(range.trim(), where)
      size++
    }
    this.size = size
  }

  #add(range: string, where: string): void {
    const slash = range.indexOf('/')
    const address = slash === -1 ? range : range.slice(0, slash)
    const prefixText = slash === -1 ? undefined : range.slice(slash + 1)
    const parsed = parseIp(address)
    const max = parsed === undefined ? 0 : parsed.version === 4 && !address.includes(':') ? 32 : 128
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1
    if (parsed === undefined || prefix < 0 || prefix > max) {
      throw new TypeError(
        `${where}: '${range}' is not an IP address or CIDR range; write e.g. '203.0.113.0/24' or '2001:db8::/32'`,
      )
    }
    if (parsed.version === 4) {
      // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
      const v4Prefix = max === 128 ? Math.max(0, prefix - 96) : prefix
      this.#bucket4(v4Prefix).add(maskIPv4(parsed.value, v4Prefix))
    } else {
      this.#bucket6(prefix).add(ipv6NetworkKey(parsed.groups, prefix))
    }
  }

  #bucket4(prefix: number): Set<number> {
    let entry = this.#v4.find((e) => e.prefix === prefix)
    if (entry === undefined) {
      entry = { prefix, networks: new Set() }
      this.#v4.push(entry)
    }
    return entry.networks
  }

  #bucket6(prefix: number): Set<string> {
    let entry = this.#v6.find((e) => e.prefix === prefix)
    if (entry === undefined) {
      entry = { prefix, networks: new Set() }
      this.#v6.push(entry)
    }
    return entry.networks
  }

  /** Whether a parsed address falls in one of the ranges. */
  has(ip: ParsedIp): boolean {
    if (ip.version === 4) {
      for (const { prefix, networks } of this.#v4) if (networks.has(maskIPv4(ip.value, prefix))) return true
      return false
    }
    for (const { prefix, networks } of this.#v6)
      if (networks.has(ipv6NetworkKey(ip.groups, prefix))) return true
    return false
  }

  /** Whether an address (text, a port allowed) falls in one of the ranges; text that is not an IP never does. */
  hasAddress(ip: string | undefined): boolean {
    if (ip === undefined) return false
    const parsed = parseClientIp(ip)
    return parsed !== undefined && this.has(parsed)
  }
}

/** Loopback, private, CGNAT and link-local ranges: where a reverse proxy usually sits. */
export const NON_PUBLIC_RANGES: CidrSet = new CidrSet(
  [
    '127.0.0.0/8',
    '10.0.0.0/8',
    '172.16.0.0/12',
    '192.168.0.0/16',
    '100.64.0.0/10',
    '169.254.0.0/16',
    '::1/128',
    'fc00::/7',
    'fe80::/10',
  ],
  'NON_PUBLIC_RANGES',
)

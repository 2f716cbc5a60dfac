import { parseClientIp } from '../ip.js'
import type { ProxyTrust } from '../request.js'

/**
 * Which forwarding hops a server without a trust-proxy setting of its own trusts (Hono, a bare
 * fetch handler): a number of hops (`1`: the one proxy in front of the app), or a predicate
 * `(address, hop) => boolean` asked for each address from the socket's (hop 0) outwards, as
 * Express' compiled `trust proxy` function is. `0` trusts no one.
 */
export type TrustProxy = number | ((address: string, hop: number) => boolean)

/** A compiled {@link TrustProxy}: `undefined` trusts no hop. */
export type TrustFn = ((address: string, hop: number) => boolean) | undefined

const hopsFns: Array<(address: string, hop: number) => boolean> = []

/**
 * Checks a `trustProxy` option and compiles it once: a `TypeError` naming the option for anything
 * but a whole number of hops or a function. `undefined` and `0` trust no hop.
 *
 * @example
 * ```ts
 * const trust = compileTrustProxy(options.trustProxy, 'createGuard()')
 * ```
 */
export function compileTrustProxy(value: unknown, where: string): TrustFn {
  if (value === undefined || value === 0) return undefined
  if (typeof value === 'function') return value as (address: string, hop: number) => boolean
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 64) {
    throw new TypeError(
      `${where}: trustProxy must be the number of proxies in front of the app (0 to 64, e.g. 1) or a function (address, hop) => boolean; got ${String(value)}. Without it no X-Forwarded-* header is trusted.`,
    )
  }
  hopsFns[value] ??= (_address, hop) => hop < value
  return hopsFns[value]
}

/** How far a compiled trust reaches, as `SecurityRequest.proxyTrust` says it. */
export function proxyTrustOfFn(trust: TrustFn): ProxyTrust {
  if (trust === undefined) return 'none'
  return trust('198.51.100.77', 64) ? 'any' : 'limited'
}

/**
 * The client address behind trusted proxies, as proxy-addr resolves it for Express: the socket's
 * address (hop 0), then the `X-Forwarded-For` entries from the right, each trusted hop handing on
 * to the next; the first address that is not trusted is the client. An entry that is not an IP
 * address ends the walk at the hop that sent it, so a malformed header never becomes the client
 * address. `undefined` when the socket's address is unknown.
 */
export function forwardedClientIp(
  socket: string | undefined,
  forwardedFor: string | undefined | null,
  trust: TrustFn,
): string | undefined {
  if (socket === undefined || trust === undefined || forwardedFor == null || forwardedFor === '')
    return socket
  const entries = forwardedFor.split(',')
  let address = socket
  for (let hop = 0, i = entries.length - 1; i >= 0; hop++, i--) {
    if (!trust(address, hop)) return address
    const next = entries[i]!.trim()
    if (parseClientIp(next) === undefined) return address
    address = next
  }
  return address
}

/** The first value of a list header (`X-Forwarded-Proto: https, http` is `https`), trimmed. */
export function firstListValue(value: string | null | undefined): string | undefined {
  if (value == null || value === '') return undefined
  const comma = value.indexOf(',')
  const first = (comma === -1 ? value : value.slice(0, comma)).trim()
  return first === '' ? undefined : first
}

import type { RoutingPolicy } from '@apiward/core'
import * as kit from '@apiward/core/adapter'

/** Options every entry point of this package takes: the adapter options, and what Hono and fetch runtimes do not resolve. */
export interface HonoOptions extends kit.AdapterOptions {
  /**
   * Which proxies in front of the app are trusted with `X-Forwarded-For`, `-Proto` and `-Host`: the
   * number of hops (`1` for one load balancer), or `(address, hop) => boolean` asked for each
   * address from the socket's (hop 0) outwards. Hono and fetch runtimes have no trust-proxy
   * setting, so this is it. Default: none, the client address is the socket's and forwarding
   * headers are ignored: a client cannot pick its own IP, scheme or host.
   */
  trustProxy?: kit.TrustProxy
  /**
   * How the router compares paths, so path-derived keys (rate limits by path) fold as it does.
   * Default: case-sensitive with the trailing slash significant, Hono's default (`strict: true`);
   * say `{ caseSensitive: true, strictSlash: false }` for `new Hono({ strict: false })`.
   */
  routing?: RoutingPolicy
  /**
   * Whether this server itself serves TLS, for runtimes whose request URL does not say it
   * reliably: Deno puts the scheme of an absolute-form target (`GET https://host/path` on a plain
   * connection) into the URL as the client wrote it, so there `ctx.req.secure` is `false` unless
   * a trusted proxy's `X-Forwarded-Proto` says `https` or this is `true` (`Deno.serve({ cert,
   * key })`). Default: read from the connection on Node and from the URL on Bun, `false` on Deno.
   * Never needed behind a TLS-terminating proxy that `trustProxy` names.
   */
  secureServer?: boolean
}

/** Options parsed once, when a guard or a handler is built. */
export type Configuration = kit.FetchConfiguration

/** Checks the options and compiles them; a mistake is a `TypeError` naming the option and the fix. */
export const configure: (options: HonoOptions, where: string) => Configuration = kit.configureFetch

// What several stack files share: the principal and the request IDs a limit makes by hand, and
// the header lists the secure-header stacks promise.
import { randomFillSync } from 'node:crypto'

/**
 * Request IDs by hand, as cheaply as they can be made: 16 random bytes as base64url, from a pool
 * refilled every 256 IDs (`randomBytes(16)` per request would cost the limit a call into OpenSSL
 * that the audit log's own request IDs do not pay).
 */
export function requestIds() {
  const pool = Buffer.alloc(16 * 256)
  let at = pool.length
  return () => {
    if (at === pool.length) {
      randomFillSync(pool)
      at = 0
    }
    at += 16
    return pool.toString('base64url', at - 16, at)
  }
}

/** The principal `jwt()` establishes for the bench token, as a limit builds it by hand. */
export const principalOf = (claims) => ({
  id: claims.sub,
  kind: 'user',
  scopes: String(claims.scope ?? '').split(' '),
  roles: [],
  claims,
  credential: 'jwt',
})

/** What `secureHeaders()` sends with its API preset. */
export const PRESET_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
  'cache-control',
]

/** What helmet 8 sends with its defaults (koa-helmet and @fastify/helmet run the same helmet). */
export const HELMET_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
]

/** What hono/secure-headers sends with its defaults: helmet's, without a CSP. */
export const HONO_HEADERS = HELMET_HEADERS.filter((name) => name !== 'content-security-policy')

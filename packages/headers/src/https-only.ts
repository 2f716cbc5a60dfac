import {
  answerNow,
  checkOptions,
  defineGuard,
  type Guard,
  type KnownOptions,
  type SecurityRequest,
} from '@apiward/core'
import { Forbidden } from '@apiward/errors'

/** Options of {@link httpsOnly}. */
export interface HttpsOnlyOptions {
  /**
   * Redirects plain-HTTP `GET` and `HEAD` requests to this HTTPS origin
   * (`'https://api.example.com'`, a port when not 443), with the request's path and query;
   * other methods are still refused. Default: none, every plain-HTTP request is refused (403
   * `request.https_required`). The target is never built from `Host` or an absolute-form request
   * target: that would redirect to a host the client names (an open redirect, and a poisoned
   * cache entry behind a shared cache).
   */
  redirectTo?: string
  /** The status of the redirect: 301, 302, 307 or 308. Default 308 (permanent, method kept). */
  redirectStatus?: 301 | 302 | 307 | 308
}

const OPTIONS: KnownOptions<HttpsOnlyOptions> = { redirectTo: true, redirectStatus: true }
const MISTAKES: Readonly<Record<string, string>> = {
  redirect: 'redirectTo',
  canonicalOrigin: 'redirectTo',
  origin: 'redirectTo',
  host: 'redirectTo',
  status: 'redirectStatus',
  trustProxy: "nothing: X-Forwarded-Proto counts where the framework's trust-proxy setting trusts the peer",
}
const WHERE = 'httpsOnly()'
const STATUSES = new Set([301, 302, 307, 308])

function refusal(): Forbidden {
  return new Forbidden({
    code: 'request.https_required',
    detail: 'This API is served over HTTPS only.',
  })
}

function canonicalHttpsOrigin(value: unknown): string {
  let url: URL | undefined
  if (typeof value === 'string') {
    try {
      url = new URL(value)
    } catch {
      url = undefined
    }
  }
  if (url === undefined || url.protocol !== 'https:' || url.origin !== value) {
    const hint = url?.protocol === 'https:' ? `; write ${JSON.stringify(url.origin)}` : ''
    throw new TypeError(
      `${WHERE}: redirectTo must be an https origin such as 'https://api.example.com' (no path, no trailing slash)${hint}`,
    )
  }
  return url.origin
}

/**
 * The path and query of the request as the client sent them, never its host: the path the
 * framework saw from the start (Express rewrites `url` inside mounted routers), the query of the
 * request target (a fetch-based adapter's `target`, a Node request's `url`). Anything but visible
 * ASCII is percent-encoded, so the `Location` is always a valid header value.
 */
function target(req: SecurityRequest): string {
  const view = req as { target?: unknown; raw?: { url?: unknown } }
  const sent = typeof view.target === 'string' ? view.target : view.raw?.url
  const q = typeof sent === 'string' ? sent.indexOf('?') : -1
  const path = req.rawPath + (q === -1 ? '' : (sent as string).slice(q))
  const slashed = path.startsWith('/') ? path : `/${path}`
  return slashed.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
}

/**
 * Refuses plain HTTP: a request whose protocol is not `https` gets 403 `request.https_required`,
 * or, with `redirectTo`, a `GET` or `HEAD` is redirected (308) to that canonical origin with its
 * path and query. The protocol is the framework's (`ctx.req.protocol`), so `X-Forwarded-Proto`
 * counts only from a proxy its trust-proxy setting trusts: behind a TLS-terminating proxy,
 * configure that (Express `trust proxy`, Koa `app.proxy`, Fastify `trustProxy`, the Hono adapter's
 * `trustProxy`). Pair it with
 * `secureHeaders()`, whose `Strict-Transport-Security` keeps browsers on HTTPS afterwards.
 *
 * @example
 * ```ts
 * app.use(guard(secureHeaders(), httpsOnly({ redirectTo: 'https://api.example.com' })))
 * ```
 */
export function httpsOnly(options: HttpsOnlyOptions = {}): Guard {
  checkOptions<HttpsOnlyOptions>(
    options,
    WHERE,
    OPTIONS,
    MISTAKES,
    "{ redirectTo: 'https://api.example.com' }",
  )
  const origin = options.redirectTo === undefined ? undefined : canonicalHttpsOrigin(options.redirectTo)
  const status = options.redirectStatus ?? 308
  if (!STATUSES.has(status)) {
    throw new TypeError(`${WHERE}: redirectStatus must be 301, 302, 307 or 308, got ${String(status)}`)
  }
  if (options.redirectStatus !== undefined && origin === undefined) {
    throw new TypeError(`${WHERE}: redirectStatus needs redirectTo, the https origin to redirect to`)
  }
  const settings = { redirectTo: origin ?? false, redirectStatus: origin === undefined ? undefined : status }
  return defineGuard(
    (ctx) => {
      const req = ctx.req
      if (req.secure) return
      const method = req.method
      if (origin === undefined || (method !== 'GET' && method !== 'HEAD')) {
        ctx.emit('https.required', { severity: 'warn', redirected: false })
        throw refusal()
      }
      ctx.emit('https.required', { severity: 'info', redirected: true })
      throw answerNow(status, { headers: { location: origin + target(req) } })
    },
    { guardName: 'httpsOnly', kind: 'access', settings },
  )
}

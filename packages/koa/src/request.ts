import { FOLDING_ROUTER } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type Koa from 'koa'
import type { ParameterizedContext } from 'koa'

/** What @koa/router leaves on the context. */
interface RouterFields {
  params?: Record<string, string>
  _matchedRoute?: unknown
  router?: { opts?: { sensitive?: unknown; strict?: unknown } }
}

const never = () => false
// Without maxIpsCount Koa takes the leftmost X-Forwarded-For entry, which the client writes.
const trustSetting = (app: Koa): kit.TrustSetting => [app.proxy, app.maxIpsCount > 0 ? never : undefined]

/**
 * What guards read of a Koa context: the URL the client sent (`ctx.originalUrl`, also inside a
 * mounted app), IP, protocol and host as Koa resolved them (`app.proxy`, `maxIpsCount`), parsed
 * query, router params and route pattern, the body a parser left on `ctx.request.body`, and the
 * `sensitive` / `strict` options of the @koa/router that dispatched the request (before any
 * router ran, @koa/router's defaults: case and trailing slash ignored, which folds the most).
 */
export const koaRequest: kit.RequestReader<ParameterizedContext> = {
  url: (ctx) => ctx.originalUrl,
  ip: (ctx) => ctx.ip || undefined,
  proxyTrust: (ctx) => kit.proxyTrustOf(ctx.app, trustSetting),
  protocol: (ctx) => ctx.protocol,
  host: (ctx) => ctx.host,
  query: (ctx) => ctx.query,
  params: (ctx) => (ctx as RouterFields).params,
  body: (ctx) => (ctx.request as { body?: unknown }).body,
  route: (ctx) => {
    const route = (ctx as RouterFields)._matchedRoute
    return typeof route === 'string' ? route : undefined
  },
  setBody: (ctx, value) => {
    ;(ctx.request as { body?: unknown }).body = value
  },
  // @koa/bodyparser skips a request with `disableBodyParser`, instead of reading a spent stream.
  bodyRead: (ctx) => {
    ;(ctx as { disableBodyParser?: boolean }).disableBodyParser = true
  },
  routing: (ctx) => {
    const opts = (ctx as RouterFields).router?.opts
    return opts === undefined
      ? FOLDING_ROUTER
      : { caseSensitive: opts.sensitive === true, strictSlash: opts.strict === true }
  },
}

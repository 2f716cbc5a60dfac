import * as kit from '@apiward/core/adapter'
import type { Application, Request } from 'express'

type TrustFn = (address: string | undefined, hop: number) => boolean

const trustFn = (app: Application): TrustFn => app.get('trust proxy fn')
const trustSetting = (app: Application): kit.TrustSetting => [Boolean(app.get('trust proxy')), trustFn(app)]

/**
 * What guards read of an Express request: the original URL (Express rewrites `req.url` inside
 * mounted routers), IP, protocol and host after `trust proxy`, params, query, body, the route
 * pattern with its mount path, and the app's `case sensitive routing` and `strict routing`
 * settings (a `Router` made with other options than its app's is not visible from here: see
 * docs/adapters.md#routing-policy).
 */
export const expressRequest: kit.RequestReader<Request> = {
  url: (req) => req.originalUrl ?? req.url,
  ip: (req) => req.ip,
  proxyTrust: (req) => kit.proxyTrustOf(req.app, trustSetting),
  protocol: (req) => req.protocol,
  // Express 5's `req.host` rule, also on Express 4 (whose `req.host` drops the port).
  host: (req) => kit.forwardedHost(req.headers, trustFn(req.app)(req.socket.remoteAddress, 0)),
  query: (req) => req.query as Record<string, unknown> | undefined,
  params: (req) => req.params as Record<string, string> | undefined,
  body: (req) => req.body,
  route: (req) => {
    const route = req.route as { path?: unknown } | undefined
    return typeof route?.path === 'string' ? req.baseUrl + route.path : undefined
  },
  setInput: kit.replaceInput,
  setBody: (req, value) => {
    req.body = value
  },
  // body-parser skips a request whose `_body` is set, instead of reading a spent stream.
  bodyRead: (req) => {
    ;(req as { _body?: boolean })._body = true
  },
  routing: (req) => ({
    caseSensitive: req.app.enabled('case sensitive routing'),
    strictSlash: req.app.enabled('strict routing'),
  }),
}

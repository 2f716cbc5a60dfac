import type { RequestReader } from '@apiward/core/adapter'
import type { Request } from 'express'

/** Express 5's `req.host`, also on Express 4 (whose `req.host` drops the port). */
function host(req: Request): string | undefined {
  const forwarded = req.headers['x-forwarded-host']
  if (typeof forwarded === 'string' && forwarded !== '') {
    const trust = req.app.get('trust proxy fn') as (address: string | undefined, hop: number) => boolean
    if (trust(req.socket.remoteAddress, 0)) {
      const comma = forwarded.indexOf(',')
      return (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim()
    }
  }
  return req.headers.host
}

/**
 * What guards read of an Express request: the original URL (Express rewrites `req.url` inside
 * mounted routers), IP, protocol and host after `trust proxy`, params, query, body, the route
 * pattern with its mount path, and the app's `case sensitive routing` and `strict routing`
 * settings (a `Router` made with other options than its app's is not visible from here: see
 * docs/adapters.md#routing-policy).
 */
export const expressRequest: RequestReader<Request> = {
  url: (req) => req.originalUrl ?? req.url,
  ip: (req) => req.ip,
  protocol: (req) => req.protocol,
  host,
  query: (req) => req.query as Record<string, unknown> | undefined,
  params: (req) => req.params as Record<string, string> | undefined,
  body: (req) => req.body,
  route: (req) => {
    const route = req.route as { path?: unknown } | undefined
    return typeof route?.path === 'string' ? req.baseUrl + route.path : undefined
  },
  routing: (req) => ({
    caseSensitive: req.app.enabled('case sensitive routing'),
    strictSlash: req.app.enabled('strict routing'),
  }),
}

import { routerPath, type SecurityRequest } from '@apiward/core'

const ENCODED_SEPARATOR = /%2f|%5c/i

function reencoded(segment: string): string {
  return segment.replaceAll('%', '%25').replaceAll('/', '%2F').replaceAll('\\', '%5C')
}

/**
 * The path a path-based decision is made on: `req.matchPath` (decoded once, dot segments
 * resolved, folded as the router folds), except that an encoded `/` or `\` stays part of its
 * segment. Routers split a path on its literal slashes only, so `/public/..%2Fadmin` is served by
 * `/public/:file`; decoding first would decide it as `/admin`, the decision of a path the router
 * never served, and a caller allowed on `/admin` would reach `/public/:file` with it.
 */
export function routedPath(req: SecurityRequest): string {
  const folded = req.matchPath
  const raw = req.rawPath
  if (!ENCODED_SEPARATOR.test(raw)) return folded
  const out: string[] = []
  for (const rawSegment of raw.split('/')) {
    const semi = rawSegment.indexOf(';')
    const segment = semi === -1 ? rawSegment : rawSegment.slice(0, semi)
    // matchPath already refused malformed encoding with a 400, so decoding cannot throw here.
    const decoded = decodeURIComponent(segment)
    if (decoded === '' || decoded === '.') continue
    if (decoded === '..') out.pop()
    else out.push(ENCODED_SEPARATOR.test(segment) ? reencoded(decoded) : decoded)
  }
  return routerPath(`/${out.join('/')}`, raw, req.routing)
}

import { BadRequest } from '@apiward/errors'

const NEEDS_WORK = /[%.;\\]|\/\/|.\/$/

/**
 * Normalises a request path so that security decisions see one spelling of it.
 *
 * The query string is dropped, `;params` are stripped from every segment, the path is
 * percent-decoded exactly once (`%2F` becomes `/`, `%252F` stays `%2F`), dot segments are
 * resolved without climbing above the root, duplicate slashes are collapsed and a trailing
 * slash is removed. Case is kept: paths are case-sensitive, a rate limiter that wants
 * `/LOGIN` and `/login` in one bucket lower-cases its own key.
 *
 * Malformed percent-encoding and encoded NUL bytes are a 400 (`request.invalid_path`), never
 * a path that means something else to the router.
 *
 * @example
 * ```ts
 * normalizePath('/notes/./a/..//b;jsessionid=1/') // '/notes/b'
 * normalizePath('/%6cogin')                        // '/login'
 * ```
 */
export function normalizePath(url: string): string {
  const q = url.indexOf('?')
  let path = q === -1 ? url : url.slice(0, q)
  const hash = path.indexOf('#')
  if (hash !== -1) path = path.slice(0, hash)
  if (path === '' || path[0] !== '/') path = `/${path}`
  if (!NEEDS_WORK.test(path)) return path

  const rawSegments = path.split('/')
  const out: string[] = []
  for (let i = 1; i < rawSegments.length; i++) {
    let segment = rawSegments[i]!
    const semi = segment.indexOf(';')
    if (semi !== -1) segment = segment.slice(0, semi)
    if (segment.includes('%')) segment = decodeSegment(segment)
    for (const part of segment.split(/[/\\]/)) {
      if (part === '' || part === '.') continue
      if (part === '..') out.pop()
      else out.push(part)
    }
  }
  return `/${out.join('/')}`
}

function decodeSegment(segment: string): string {
  let decoded: string
  try {
    decoded = decodeURIComponent(segment)
  } catch (cause) {
    throw new BadRequest({
      code: 'request.invalid_path',
      detail: 'The request path contains malformed percent-encoding.',
      cause,
    })
  }
  if (decoded.includes('\0')) {
    throw new BadRequest({ code: 'request.invalid_path', detail: 'The request path contains a NUL byte.' })
  }
  return decoded
}

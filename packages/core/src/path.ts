import { BadRequest } from '@apiward/errors'

const NEEDS_WORK = /[%.;\\]|\/\/|.\/$/
// RFC 9112 §3.2.2 absolute-form: a scheme, `://` and an authority before the path.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/
const SLASH = 0x2f

/**
 * The origin-form of a request target: an absolute-form target (`http://host:port/path?q`, which
 * Node accepts and every framework routes by its path) loses its scheme and authority, so the
 * host a client invents never becomes part of a security decision. Other targets are returned
 * as they are.
 *
 * @example
 * ```ts
 * originForm('http://anything.example/login?x=1') // '/login?x=1'
 * originForm('HTTPS://h:8443')                    // '/'
 * originForm('/login')                            // '/login'
 * ```
 */
export function originForm(target: string): string {
  if (target.charCodeAt(0) === SLASH) return target
  const authority = ABSOLUTE_FORM.exec(target)
  if (authority === null) return target
  const rest = target.slice(authority[0].length)
  return rest.charCodeAt(0) === SLASH ? rest : `/${rest}`
}

/**
 * The host of an absolute-form target (`http://user@Api.Example:8443/x` gives `Api.Example:8443`,
 * without user information), `undefined` for an origin-form target.
 */
export function absoluteFormHost(target: string): string | undefined {
  if (target.charCodeAt(0) === SLASH) return undefined
  const authority = ABSOLUTE_FORM.exec(target)
  if (authority === null) return undefined
  const hostPart = authority[0].slice(authority[0].indexOf('//') + 2)
  return hostPart.slice(hostPart.lastIndexOf('@') + 1)
}

/**
 * Normalises a request path so that security decisions see one spelling of it.
 *
 * An absolute-form target loses its scheme and authority (see `originForm`), the query string is
 * dropped, `;params` are stripped from every segment, each segment is percent-decoded exactly
 * once (`%6c` becomes `l`, `%2e%2e` a dot segment, `%2561` stays `%61`), dot segments are
 * resolved without climbing above the root, duplicate slashes are collapsed and a trailing
 * slash is removed. An encoded `/` or `\` (`%2F`, `%5C`) stays encoded inside its segment: no
 * router splits a path there (Express, @koa/router, find-my-way and Hono's router all serve
 * `/public/..%2Fadmin` through `/public/:file`), so decoding it into a separator would make a
 * decision about `/admin` for a request the router serves as `/public/:file`. A raw `\`
 * separates, as the WHATWG URL parser of fetch runtimes makes it a `/`. Case is kept: whether `/LOGIN` is `/login` is the router's policy, which
 * `routerPath` applies on top of this.
 *
 * Malformed percent-encoding and encoded NUL bytes are a 400 (`request.invalid_path`), never
 * a path that means something else to the router.
 *
 * @example
 * ```ts
 * normalizePath('/notes/./a/..//b;jsessionid=1/') // '/notes/b'
 * normalizePath('/%6cogin')                        // '/login'
 * normalizePath('http://evil.example/login')       // '/login'
 * ```
 */
export function normalizePath(target: string): string {
  const url = originForm(target)
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
    // A raw backslash separates (the WHATWG URL parser of fetch runtimes turns it into `/`).
    for (let part of segment.split('\\')) {
      if (part.includes('%')) part = decodeSegment(part)
      if (part === '' || part === '.') continue
      if (part === '..') out.pop()
      else out.push(part)
    }
  }
  return `/${out.join('/')}`
}

const ENCODED_SEPARATORS = /[/\\]/g
const reencodeSeparator = (c: string) => (c === '/' ? '%2F' : '%5C')

/** Decodes a segment once; an encoded `/` or `\` stays encoded, part of its segment as routers keep it. */
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
  return decoded.replace(ENCODED_SEPARATORS, reencodeSeparator)
}

/**
 * How the serving router compares paths. Each adapter reads it from its framework (Express
 * `case sensitive routing` / `strict routing`, @koa/router `sensitive` / `strict`, Fastify
 * `caseSensitive` / `ignoreTrailingSlash`), so decisions derived from the path fold exactly as
 * the router does.
 */
export interface RoutingPolicy {
  /** `/Login` and `/login` are different routes. */
  readonly caseSensitive: boolean
  /** `/login/` and `/login` are different routes. */
  readonly strictSlash: boolean
}

/** The policy that folds the most: case ignored, a trailing slash ignored (Express and @koa/router defaults). */
export const FOLDING_ROUTER: RoutingPolicy = Object.freeze({ caseSensitive: false, strictSlash: false })

/** A router that compares paths exactly (Fastify's default). */
export const EXACT_ROUTER: RoutingPolicy = Object.freeze({ caseSensitive: true, strictSlash: true })

/**
 * The path as the serving router compares it: the normalised `path`, lower-cased where the router
 * ignores case, with its trailing slash back where the router tells `/a/` from `/a`. Two targets
 * that reach the same handler get the same value, so a rate-limit bucket, a brute-force counter or
 * a path-based policy cannot be split by spelling (`/LOGIN`, `/login/`, `http://x/login`).
 *
 * @param path the normalised path (`normalizePath`)
 * @param rawPath the path as received, without the query (its trailing slash is what counts)
 *
 * @example
 * ```ts
 * routerPath('/login', '/LOGIN/', FOLDING_ROUTER) // '/login'
 * routerPath('/login', '/login/', EXACT_ROUTER)   // '/login/'
 * ```
 */
export function routerPath(path: string, rawPath: string, policy: RoutingPolicy): string {
  const folded = policy.caseSensitive ? path : path.toLowerCase()
  if (policy.strictSlash && folded.length > 1 && rawPath.charCodeAt(rawPath.length - 1) === SLASH) {
    return `${folded}/`
  }
  return folded
}

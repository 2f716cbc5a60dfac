import type { SecurityContext } from './context.js'
import { compose, defineGuard, type Guard, type GuardInput, toGuardList } from './guard.js'
import { checkOptions, type KnownOptions } from './options.js'
import { normalizePath } from './path.js'

/** Options of {@link unless}: the requests the guards let pass without running. */
export interface UnlessOptions {
  /**
   * Paths the guards skip: an exact path (`'/health'`), a path with `:name` segments that each
   * stand for one segment (`'/users/:id/avatar'`), or a subtree ending in `/*` (`'/public/*'`:
   * `/public` and everything below it). They are compared with the request's path as its router
   * matches it (`ctx.req.matchPath`: percent-decoded once, dot segments and duplicate slashes
   * resolved, folded for case and the trailing slash as the router folds them), so
   * `/public/../admin`, `/public%2F..%2Fadmin` and, on a case-sensitive router, `/PUBLIC/x` are
   * not skipped, while every spelling the router serves as a skipped route is. No regular
   * expressions: an unanchored one is the classic `unless` bypass. Default: every path (then
   * `method` must be given).
   */
  path?: string | readonly string[]
  /**
   * Methods the guards skip, e.g. `'OPTIONS'` for preflights; `'GET'` includes `HEAD`, which
   * every router serves with the `GET` route. With `path`, only these methods on those paths.
   * Default: every method (then `path` must be given).
   */
  method?: string | readonly string[]
}

const UNLESS_OPTIONS = { path: true, method: true } as const satisfies KnownOptions<UnlessOptions>
const MISTAKES = {
  paths: 'path',
  methods: 'method',
  custom: "a guard of your own: defineGuard((ctx) => { if (!skipped(ctx)) ... }, { guardName: '...' })",
  ext: "path with a subtree ('/assets/*')",
  useOriginalUrl: 'path (always the normalised path the router matches)',
}
const WHERE = 'unless()'
const METHOD = /^[A-Z]+$/

/** A path pattern, split into segments; `undefined` stands for a `:name` segment. */
interface Pattern {
  readonly segments: readonly (string | undefined)[]
  readonly lowerSegments: readonly (string | undefined)[]
  readonly subtree: boolean
}

function listOf(value: string | readonly string[] | undefined, name: string): readonly string[] | undefined {
  if (value === undefined) return undefined
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'string')) {
    throw new TypeError(`${WHERE}: ${name} must be a string or a non-empty array of strings`)
  }
  return list
}

function compilePattern(text: string): Pattern {
  const subtree = text.endsWith('/*')
  const path = subtree ? text.slice(0, -2) || '/' : text
  let normalized: string | undefined
  try {
    normalized = path.startsWith('/') ? normalizePath(path) : undefined
  } catch {
    normalized = undefined
  }
  if (normalized !== path || /[?#*]/.test(path)) {
    throw new TypeError(
      `${WHERE}: path ${JSON.stringify(text)} must be a normalised path such as '/health', '/users/:id' or '/public/*'${normalized === undefined ? '' : ` (write ${JSON.stringify(subtree ? `${normalized}/*` : normalized)})`}; no query, no wildcard but a final '/*', no regular expression`,
    )
  }
  const segments =
    path === '/'
      ? []
      : path
          .slice(1)
          .split('/')
          .map((s) => (s.startsWith(':') ? undefined : s))
  return { segments, lowerSegments: segments.map((s) => s?.toLowerCase()), subtree }
}

/** Whether the segments of a router-folded path are one of a pattern's paths. */
function matches(pattern: Pattern, parts: readonly string[], folded: boolean): boolean {
  const segments = folded ? pattern.lowerSegments : pattern.segments
  // A strict router keeps the trailing slash: `/a/` is a route of its own, not `/a`.
  const trailing = parts.length > 0 && parts[parts.length - 1] === ''
  if (trailing && !pattern.subtree) return false
  const count = trailing ? parts.length - 1 : parts.length
  if (pattern.subtree ? count < segments.length : count !== segments.length) return false
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]
    if (segment === undefined ? parts[i] === '' : segment !== parts[i]) return false
  }
  return true
}

/**
 * Runs guards on every request but those it names: app-wide authentication everywhere except
 * `/health` and `/public/*`, the `unless()` of express-jwt and koa-jwt. Paths are matched on the
 * path as the router matches it, never on the raw URL, so `/public/../admin` or `/PUBLIC/x` (on
 * a case-sensitive router) cannot borrow an exception: see {@link UnlessOptions}. Each guard is
 * wrapped on its own, so adapters still run header-only guards before the body is read, and the
 * route inventory lists the exception in each guard's settings.
 *
 * @example
 * ```ts
 * app.use(guard(unless(jwt({ jwksUri, issuer, audience }), { path: ['/health', '/public/*'] })))
 * app.use(guard(unless(rateLimit({ points: 100, duration: 60 }), { method: 'OPTIONS' })))
 * ```
 */
export function unless(guards: GuardInput, options: UnlessOptions): Guard {
  const list = toGuardList([guards], WHERE)
  checkOptions<UnlessOptions>(
    options,
    WHERE,
    UNLESS_OPTIONS,
    MISTAKES,
    "unless(guard, { path: ['/health'] })",
  )
  const paths = listOf(options.path, 'path')
  const methodList = listOf(options.method, 'method')
  if (paths === undefined && methodList === undefined) {
    throw new TypeError(`${WHERE}: give path, method or both, e.g. unless(guard, { path: ['/health'] })`)
  }
  const patterns = paths?.map(compilePattern)
  const methods = methodList?.map((m) => m.toUpperCase())
  if (methods?.some((m) => !METHOD.test(m))) {
    throw new TypeError(`${WHERE}: method must be HTTP method names such as 'GET' or 'OPTIONS'`)
  }
  if (methods?.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD')
  const skipped = (ctx: SecurityContext): boolean => {
    const req = ctx.req
    if (methods !== undefined && !methods.includes(req.method)) return false
    if (patterns === undefined) return true
    const path = req.matchPath
    const parts = path === '/' ? [] : path.slice(1).split('/')
    const folded = !req.routing.caseSensitive
    for (const pattern of patterns) if (matches(pattern, parts, folded)) return true
    return false
  }
  const exception = Object.freeze({ path: paths, method: methods })
  return compose(
    ...list.map((guard) =>
      defineGuard((ctx) => (skipped(ctx) ? undefined : guard(ctx)), {
        guardName: guard.guardName ?? (guard.name || 'guard'),
        needsBody: guard.needsBody,
        readsRawBody: guard.readsRawBody,
        kind: guard.kind,
        settings: Object.freeze({ ...guard.settings, unless: exception }),
      }),
    ),
  )
}

import {
  answerNow,
  booleanOption,
  checkOptions,
  defineGuard,
  type Guard,
  type HeaderList,
  headerList,
  type KnownOptions,
  type SecurityContext,
} from '@apiward/core'

/** Options of {@link cors}. */
export interface CorsOptions {
  /**
   * The origins allowed to read answers from a browser: exact origins as browsers send them
   * (`'https://app.example.com'`: scheme, lower-case host, port only when not the default, no
   * path or trailing slash), anchored regular expressions (`/^https:\/\/[a-z0-9-]+\.example\.com$/`,
   * checked at startup to start with `^`, end with `$`, have no top-level `|` and no lone `.`),
   * or `'*'` for a public API read without credentials. Required: no origin is allowed by default.
   * An `Origin` is compared exactly, so `https://app.example.com.evil.test`,
   * `https://app.example.com.` and `HTTPS://APP.EXAMPLE.COM` are not `https://app.example.com`.
   */
  origins: '*' | readonly (string | RegExp)[]
  /**
   * Whether browsers may send cookies and HTTP authentication and read the answer
   * (`Access-Control-Allow-Credentials: true`). Default `false`. Never with `origins: '*'`
   * (a `TypeError` at startup): that would let every site act as the user.
   */
  credentials?: boolean
  /**
   * The methods a preflight allows (`Access-Control-Allow-Methods`). Default `GET, HEAD, POST,
   * PUT, PATCH, DELETE`.
   */
  methods?: readonly string[]
  /**
   * The request headers a preflight allows (`Access-Control-Allow-Headers`). Default
   * `Authorization, Content-Type, X-Request-Id`: a fixed list, never the headers the preflight
   * asks for reflected back, so an unexpected header fails in the browser, not at the server.
   */
  allowedHeaders?: readonly string[]
  /**
   * The response headers scripts may read beyond the safelisted ones
   * (`Access-Control-Expose-Headers`). Default `X-Request-Id, RateLimit, RateLimit-Policy,
   * Retry-After, Deprecation, Sunset, Link`: the request ID, the rate-limit and the deprecation
   * headers this project sends. `[]` exposes none.
   */
  exposedHeaders?: readonly string[]
  /**
   * Seconds a browser may cache a preflight's answer (`Access-Control-Max-Age`), 0 to 86400.
   * Default 600: a changed policy reaches browsers within ten minutes (Chromium caps it at 7200).
   */
  maxAge?: number
  /**
   * Allows the origin `null`, which sandboxed iframes, `file:` pages and some redirects send: any
   * site can produce it, so allowing it is allowing every site. Default `false`; only with it may
   * `origins` list `'null'`.
   */
  dangerouslyAllowNullOrigin?: boolean
}

const OPTIONS: KnownOptions<CorsOptions> = {
  origins: true,
  credentials: true,
  methods: true,
  allowedHeaders: true,
  exposedHeaders: true,
  maxAge: true,
  dangerouslyAllowNullOrigin: true,
}

// The names of the `cors` package, @fastify/cors and hono's cors() for the same settings.
const MISTAKES: Readonly<Record<string, string>> = {
  origin: 'origins',
  allowOrigins: 'origins',
  allowedOrigins: 'origins',
  allowMethods: 'methods',
  allowHeaders: 'allowedHeaders',
  exposeHeaders: 'exposedHeaders',
  allowCredentials: 'credentials',
  preflightContinue: 'nothing: a preflight is always answered, before authentication',
  optionsSuccessStatus: 'nothing: a preflight is always answered 204',
  allowNullOrigin: 'dangerouslyAllowNullOrigin',
}

const WHERE = 'cors()'

/** The default `methods` of {@link cors}. */
export const DEFAULT_CORS_METHODS: readonly string[] = Object.freeze([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
])
/** The default `allowedHeaders` of {@link cors}. */
export const DEFAULT_CORS_ALLOWED_HEADERS: readonly string[] = Object.freeze([
  'Authorization',
  'Content-Type',
  'X-Request-Id',
])
/** The default `exposedHeaders` of {@link cors}: the request ID, rate-limit and deprecation headers. */
export const DEFAULT_CORS_EXPOSED_HEADERS: readonly string[] = Object.freeze([
  'X-Request-Id',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'Deprecation',
  'Sunset',
  'Link',
])
const DEFAULT_MAX_AGE = 600
const MAX_MAX_AGE = 86_400
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** The serialised origin of a string, or `undefined` when it is not one (a path, a slash, upper case). */
function canonicalOrigin(value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  return url.origin === 'null' ? undefined : url.origin
}

/**
 * Why a pattern is not an anchored origin pattern, or `undefined` when it is: `^` first, `$` last,
 * no `|` outside a group (`^a|b$` anchors each side only once), no lone `.` (which matches any
 * character: `^https://app.example.com$` also allows `https://appxexample.com`).
 */
export function unanchoredReason(pattern: RegExp): string | undefined {
  const source = pattern.source
  if (!source.startsWith('^')) return 'it does not start with ^'
  if (!source.endsWith('$') || /(^|[^\\])(\\\\)*\\\$$/.test(source)) return 'it does not end with $'
  let depth = 0
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') {
      i++
      continue
    }
    if (inClass) {
      if (c === ']') inClass = false
      continue
    }
    if (c === '[') inClass = true
    else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === '|' && depth === 0) return 'it has a | outside a group: write ^(?:a|b)$'
    else if (c === '.' && !/[*+?{]/.test(source[i + 1] ?? '')) {
      return 'it has an unescaped . that matches any character: write \\.'
    }
  }
  return undefined
}

interface OriginPolicy {
  any: boolean
  exact: ReadonlySet<string>
  patterns: readonly RegExp[]
  allowNull: boolean
}

function originPolicy(origins: unknown, allowNull: boolean): OriginPolicy {
  if (origins === '*') return { any: true, exact: new Set(), patterns: [], allowNull }
  if (!Array.isArray(origins) || origins.length === 0) {
    throw new TypeError(
      `${WHERE}: origins must list the allowed origins, e.g. { origins: ['https://app.example.com'] }, or be '*' for a public API without credentials`,
    )
  }
  const exact = new Set<string>()
  const patterns: RegExp[] = []
  for (const origin of origins as unknown[]) {
    if (origin instanceof RegExp) {
      const reason = unanchoredReason(origin)
      if (reason !== undefined) {
        throw new TypeError(`${WHERE}: the origin pattern ${String(origin)} is not anchored: ${reason}`)
      }
      // Without g or y, test() keeps no lastIndex between requests.
      patterns.push(new RegExp(origin.source, origin.flags.replace(/[gy]/g, '')))
    } else if (origin === 'null') {
      if (!allowNull) {
        throw new TypeError(
          `${WHERE}: the origin 'null' is sent by sandboxed iframes and file: pages of any site; allow it only with dangerouslyAllowNullOrigin: true`,
        )
      }
    } else if (typeof origin === 'string') {
      const canonical = canonicalOrigin(origin)
      if (canonical !== origin) {
        throw new TypeError(
          `${WHERE}: ${JSON.stringify(origin)} is not an origin as browsers send it${canonical === undefined ? " (scheme://host[:port], e.g. 'https://app.example.com')" : `; write ${JSON.stringify(canonical)}`}`,
        )
      }
      exact.add(origin)
    } else {
      throw new TypeError(
        `${WHERE}: origins holds ${typeof origin}; give strings or anchored regular expressions`,
      )
    }
  }
  return { any: false, exact, patterns, allowNull }
}

function tokenList(value: unknown, name: string, fallback: readonly string[], upper: boolean): string[] {
  if (value === undefined) return [...fallback]
  if (!Array.isArray(value)) throw new TypeError(`${WHERE}: ${name} must be an array of names`)
  return value.map((item: unknown) => {
    if (typeof item !== 'string' || !TOKEN.test(item)) {
      throw new TypeError(
        `${WHERE}: ${name}: ${JSON.stringify(item)} is not a ${upper ? 'method' : 'header name'}`,
      )
    }
    return upper ? item.toUpperCase() : item
  })
}

function allows(policy: OriginPolicy, origin: string): boolean {
  if (origin === 'null') return policy.allowNull
  if (policy.any || policy.exact.has(origin)) return true
  for (const pattern of policy.patterns) if (pattern.test(origin)) return true
  return false
}

// A browser sends at most a few hundred characters; the event keeps a bounded copy of anything else.
const forEvent = (origin: string) => (origin.length > 200 ? origin.slice(0, 200) : origin)

const PREFLIGHT_ANSWER = answerNow(204)

/**
 * Strict CORS for an API. An `Origin` on the allowlist gets `Access-Control-Allow-Origin` (that
 * origin, or `*` for a public API), credentials when allowed and the exposed headers; any other
 * origin gets no CORS header at all, so the browser keeps the answer from the page. Every answer
 * of the route says `Vary: Origin`, appended to whatever `Vary` the handler sets. A preflight
 * (`OPTIONS` with `Access-Control-Request-Method`) is answered now, 204, with the allowed
 * methods, headers and a bounded `Access-Control-Max-Age` (without them for an origin not
 * allowed): put `cors()` first, app-wide, so preflights never reach authentication or a handler.
 *
 * @example
 * ```ts
 * app.use(guard(secureHeaders(), cors({ origins: ['https://app.example.com'], credentials: true })))
 * app.get('/notes', guard(jwt(opts)), listNotes)
 * ```
 */
export function cors(options: CorsOptions): Guard {
  checkOptions<CorsOptions>(options, WHERE, OPTIONS, MISTAKES, "{ origins: ['https://app.example.com'] }")
  const allowNull = booleanOption(
    options.dangerouslyAllowNullOrigin,
    'dangerouslyAllowNullOrigin',
    WHERE,
    false,
  )
  const credentials = booleanOption(options.credentials, 'credentials', WHERE, false)
  const policy = originPolicy(options.origins, allowNull)
  if (policy.any && credentials) {
    throw new TypeError(
      `${WHERE}: credentials: true with origins: '*' would let every site read answers as the signed-in user; list the origins instead`,
    )
  }
  const methods = tokenList(options.methods, 'methods', DEFAULT_CORS_METHODS, true)
  const allowedHeaders = tokenList(
    options.allowedHeaders,
    'allowedHeaders',
    DEFAULT_CORS_ALLOWED_HEADERS,
    false,
  )
  const exposed = tokenList(options.exposedHeaders, 'exposedHeaders', DEFAULT_CORS_EXPOSED_HEADERS, false)
  const maxAge = options.maxAge ?? DEFAULT_MAX_AGE
  if (!Number.isInteger(maxAge) || maxAge < 0 || maxAge > MAX_MAX_AGE) {
    throw new TypeError(
      `${WHERE}: maxAge must be a whole number of seconds from 0 to ${MAX_MAX_AGE}, got ${String(maxAge)}`,
    )
  }
  const shared: [string, string][] = []
  if (policy.any) shared.push(['Access-Control-Allow-Origin', '*'])
  if (credentials) shared.push(['Access-Control-Allow-Credentials', 'true'])
  const actual: HeaderList = headerList(
    exposed.length === 0 ? shared : [...shared, ['Access-Control-Expose-Headers', exposed.join(', ')]],
    WHERE,
  )
  const preflight: HeaderList = headerList(
    [
      ...shared,
      ['Access-Control-Allow-Methods', methods.join(', ')],
      ...(allowedHeaders.length === 0
        ? []
        : ([['Access-Control-Allow-Headers', allowedHeaders.join(', ')]] as [string, string][])),
      ['Access-Control-Max-Age', String(maxAge)],
    ],
    WHERE,
  )
  const reflect = !policy.any
  const decide = (ctx: SecurityContext): void => {
    ctx.appendHeader('vary', 'Origin')
    const origin = ctx.req.header('origin')
    const isPreflight =
      ctx.req.method === 'OPTIONS' && ctx.req.header('access-control-request-method') !== undefined
    if (origin === undefined) {
      if (isPreflight) throw PREFLIGHT_ANSWER
      return
    }
    if (!allows(policy, origin)) {
      ctx.emit('cors.origin_refused', { severity: 'warn', origin: forEvent(origin), preflight: isPreflight })
      if (isPreflight) throw PREFLIGHT_ANSWER
      return
    }
    if (reflect) ctx.setHeader('access-control-allow-origin', origin)
    if (!isPreflight) {
      ctx.setHeaders(actual)
      return
    }
    ctx.setHeaders(preflight)
    throw PREFLIGHT_ANSWER
  }
  return defineGuard(decide, {
    guardName: 'cors',
    kind: 'headers',
    settings: {
      origins: policy.any ? '*' : [...policy.exact, ...policy.patterns.map(String)],
      credentials,
      allowNullOrigin: allowNull,
      methods,
      allowedHeaders,
      maxAge,
    },
  })
}

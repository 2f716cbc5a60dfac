import {
  checkOptions,
  defineGuard,
  type Guard,
  type HeaderList,
  headerList,
  type KnownOptions,
} from '@apiward/core'
import helmet, { type HelmetOptions } from 'helmet'

type Helmet = HelmetOptions

/**
 * Options of {@link secureHeaders}: helmet's options under their current names, with an API
 * preset as the defaults, and the headers helmet does not set (`Cache-Control`,
 * `Permissions-Policy`). Every header can be turned off with `false` or given helmet's own
 * options; helmet checks those values, as it would in `helmet(options)`.
 */
export interface SecureHeadersOptions {
  /**
   * `Content-Security-Policy`. Default: `default-src 'none'; frame-ancestors 'none'`: an API
   * answer loads nothing and is framed nowhere, so a JSON body rendered as HTML by mistake runs
   * no script. Directives you give replace the preset's of the same name and join the others;
   * `useDefaults: true` starts from helmet's HTML defaults instead. Per-request directive
   * functions (nonces) are refused: the headers are computed once, and an API has no inline script.
   */
  contentSecurityPolicy?: Helmet['contentSecurityPolicy']
  /** `Cross-Origin-Embedder-Policy`. Default: off (helmet's default), it only matters to documents. */
  crossOriginEmbedderPolicy?: Helmet['crossOriginEmbedderPolicy']
  /** `Cross-Origin-Opener-Policy`. Default `same-origin` (helmet's). */
  crossOriginOpenerPolicy?: Helmet['crossOriginOpenerPolicy']
  /**
   * `Cross-Origin-Resource-Policy`. Default `same-origin`: other sites cannot embed the answers
   * with `<img>` or `<script>` (no-cors loads); CORS requests are not affected, `cors()` decides those.
   */
  crossOriginResourcePolicy?: Helmet['crossOriginResourcePolicy']
  /** `Origin-Agent-Cluster`. Default: off in the API preset (it concerns documents). */
  originAgentCluster?: Helmet['originAgentCluster']
  /** `Referrer-Policy`. Default `no-referrer`: links in answers leak no URL (with its query) to other sites. */
  referrerPolicy?: Helmet['referrerPolicy']
  /**
   * `Strict-Transport-Security`. Default `max-age=31536000; includeSubDomains` (helmet's):
   * browsers use HTTPS only for a year. Browsers ignore it on plain HTTP, so it is sent on every answer.
   */
  strictTransportSecurity?: Helmet['strictTransportSecurity']
  /** `X-Content-Type-Options: nosniff`. Default: on, so a JSON answer is never sniffed as HTML or script. */
  xContentTypeOptions?: Helmet['xContentTypeOptions']
  /** `X-DNS-Prefetch-Control`. Default: off in the API preset (it concerns documents). */
  xDnsPrefetchControl?: Helmet['xDnsPrefetchControl']
  /** `X-Download-Options`. Default: off in the API preset (old Internet Explorer only). */
  xDownloadOptions?: Helmet['xDownloadOptions']
  /** `X-Frame-Options`. Default `DENY`, for browsers that predate CSP `frame-ancestors`. */
  xFrameOptions?: Helmet['xFrameOptions']
  /** `X-Permitted-Cross-Domain-Policies`. Default: off in the API preset (Flash and Acrobat only). */
  xPermittedCrossDomainPolicies?: Helmet['xPermittedCrossDomainPolicies']
  /**
   * Removes `X-Powered-By` from every answer, also one the framework or a handler sets later
   * (Express sets it on every request unless `app.disable('x-powered-by')`). Default `true`: the
   * header only tells an attacker which framework to target.
   */
  xPoweredBy?: Helmet['xPoweredBy']
  /** `X-XSS-Protection`. Default: off in the API preset (helmet's `0` disables a filter browsers no longer have). */
  xXssProtection?: Helmet['xXssProtection']
  /**
   * `Cache-Control`. Default `no-store`: answers carry personal data and tokens, and no browser,
   * proxy or CDN keeps a copy. A handler that sets its own `Cache-Control` (a public, cacheable
   * answer) replaces it on that answer; `false` sends none.
   */
  cacheControl?: string | false
  /**
   * `Permissions-Policy`: a string as it is sent, or features and their allowlists
   * (`{ camera: [], geolocation: ['self'] }` is `camera=(), geolocation=(self)`). Default: none
   * (`false`): an API answer is not a document that could use a feature.
   */
  permissionsPolicy?: string | Readonly<Record<string, readonly string[]>> | false
}

const OPTIONS: KnownOptions<SecureHeadersOptions> = {
  contentSecurityPolicy: true,
  crossOriginEmbedderPolicy: true,
  crossOriginOpenerPolicy: true,
  crossOriginResourcePolicy: true,
  originAgentCluster: true,
  referrerPolicy: true,
  strictTransportSecurity: true,
  xContentTypeOptions: true,
  xDnsPrefetchControl: true,
  xDownloadOptions: true,
  xFrameOptions: true,
  xPermittedCrossDomainPolicies: true,
  xPoweredBy: true,
  xXssProtection: true,
  cacheControl: true,
  permissionsPolicy: true,
}

// helmet's legacy names, and other libraries' names for the same settings.
const MISTAKES: Readonly<Record<string, string>> = {
  hsts: 'strictTransportSecurity',
  noSniff: 'xContentTypeOptions',
  frameguard: 'xFrameOptions',
  hidePoweredBy: 'xPoweredBy',
  dnsPrefetchControl: 'xDnsPrefetchControl',
  ieNoOpen: 'xDownloadOptions',
  permittedCrossDomainPolicies: 'xPermittedCrossDomainPolicies',
  xssFilter: 'xXssProtection',
  csp: 'contentSecurityPolicy',
  noCache: "cacheControl: 'no-store'",
  featurePolicy: 'permissionsPolicy',
}

const WHERE = 'secureHeaders()'

/** The directives of the API preset's `Content-Security-Policy`. */
export const API_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'default-src': Object.freeze(["'none'"]),
  'frame-ancestors': Object.freeze(["'none'"]),
})

/**
 * The API preset: helmet's options where they differ from helmet's defaults. Headers that only
 * concern HTML documents are off; `X-Frame-Options` is `DENY`.
 */
const API_PRESET = {
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  xFrameOptions: { action: 'deny' },
} as const satisfies Helmet

const dashify = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

function apiCsp(option: Helmet['contentSecurityPolicy']): Helmet['contentSecurityPolicy'] {
  if (option === undefined || option === true) {
    return { useDefaults: false, directives: { ...API_CSP_DIRECTIVES } as Record<string, string[]> }
  }
  if (option === false || typeof option !== 'object' || option === null) return option
  const given = (option.directives ?? {}) as Record<string, unknown>
  for (const [name, value] of Object.entries(given)) {
    if (value !== null && typeof value === 'object' && Symbol.iterator in value) {
      for (const element of value as Iterable<unknown>) {
        if (typeof element === 'function') {
          throw new TypeError(
            `${WHERE}: contentSecurityPolicy.directives.${name} holds a function; the headers are computed once at startup, so give the values as strings`,
          )
        }
      }
    }
  }
  if (option.useDefaults === true) return option
  const names = new Set(Object.keys(given).map(dashify))
  const directives: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(API_CSP_DIRECTIVES)) {
    if (!names.has(name)) directives[name] = [...value]
  }
  Object.assign(directives, given)
  return { ...option, useDefaults: false, directives } as Helmet['contentSecurityPolicy']
}

const FEATURE = /^[a-z][a-z0-9-]*$/
const ALLOWLIST_ENTRY = /^(?:self|src|\*|https?:\/\/[^\s"(),;]+)$/

function permissionsPolicyValue(option: SecureHeadersOptions['permissionsPolicy']): string | undefined {
  if (option === undefined || option === false) return undefined
  if (typeof option === 'string') return option
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new TypeError(
      `${WHERE}: permissionsPolicy must be a string, false, or features and their allowlists such as { camera: [], geolocation: ['self'] }`,
    )
  }
  const members: string[] = []
  for (const [feature, allowlist] of Object.entries(option)) {
    if (!FEATURE.test(feature)) {
      throw new TypeError(
        `${WHERE}: permissionsPolicy: ${JSON.stringify(feature)} is not a feature name such as camera`,
      )
    }
    if (!Array.isArray(allowlist)) {
      throw new TypeError(`${WHERE}: permissionsPolicy.${feature} must be an array such as [] or ['self']`)
    }
    const entries = allowlist.map((entry: unknown) => {
      if (typeof entry !== 'string' || !ALLOWLIST_ENTRY.test(entry)) {
        throw new TypeError(
          `${WHERE}: permissionsPolicy.${feature}: ${JSON.stringify(entry)} is not 'self', 'src', '*' or an origin such as 'https://app.example.com'`,
        )
      }
      return entry.includes('://') ? `"${entry}"` : entry
    })
    members.push(
      entries.length === 1 && entries[0] === '*' ? `${feature}=*` : `${feature}=(${entries.join(' ')})`,
    )
  }
  return members.length === 0 ? undefined : members.join(', ')
}

/** What helmet does to a response, recorded once: the headers it sets and the ones it removes. */
interface Recorded {
  set: [string, string][]
  removed: string[]
}

function runHelmet(options: Helmet): Recorded {
  const recorded: Recorded = { set: [], removed: [] }
  const res = {
    setHeader(name: string, value: unknown) {
      recorded.set.push([name, String(value)])
    },
    removeHeader(name: string) {
      recorded.removed.push(name.toLowerCase())
    },
    getHeader: () => undefined,
  }
  let middleware: ReturnType<typeof helmet>
  try {
    middleware = helmet(options)
  } catch (err) {
    throw new TypeError(`${WHERE}: ${err instanceof Error ? err.message : String(err)}`)
  }
  let done = false
  middleware({} as never, res as never, (err?: unknown) => {
    if (err !== undefined && err !== null) {
      throw new TypeError(`${WHERE}: ${err instanceof Error ? err.message : String(err)}`)
    }
    done = true
  })
  if (!done) throw new TypeError(`${WHERE}: helmet did not finish synchronously with these options`)
  return recorded
}

/** The headers of {@link secureHeaders}, as computed at startup. */
export interface SecureHeaderSet {
  /** The headers set on every answer, lower-case names, in the order helmet set them. */
  readonly headers: HeaderList
  /** The headers removed from every answer (`x-powered-by`). */
  readonly removed: readonly string[]
}

/**
 * Computes the headers of {@link secureHeaders} once, by running helmet itself against a
 * recording response (so helmet's option checks and defaults stay helmet's): what the guard
 * sets and removes. For a limit of your own, a test, or a framework without an adapter.
 *
 * @example
 * ```ts
 * const { headers } = secureHeaderSet()
 * for (const [name, value] of headers) res.setHeader(name, value)
 * ```
 */
export function secureHeaderSet(options: SecureHeadersOptions = {}): SecureHeaderSet {
  checkOptions<SecureHeadersOptions>(options, WHERE, OPTIONS, MISTAKES, "{ cacheControl: 'no-store' }")
  const { cacheControl, permissionsPolicy, ...rest } = options
  const helmetOptions = { ...API_PRESET, ...rest } as Record<string, unknown>
  for (const name of Object.keys(helmetOptions)) {
    if (helmetOptions[name] === undefined) delete helmetOptions[name]
  }
  helmetOptions.contentSecurityPolicy = apiCsp(rest.contentSecurityPolicy)
  const recorded = runHelmet(helmetOptions as Helmet)
  const pairs: [string, string][] = recorded.set
  if (cacheControl !== undefined && cacheControl !== false && typeof cacheControl !== 'string') {
    throw new TypeError(
      `${WHERE}: cacheControl must be a header value such as 'no-store', or false to send none`,
    )
  }
  if (cacheControl !== false) pairs.push(['Cache-Control', cacheControl ?? 'no-store'])
  const policy = permissionsPolicyValue(permissionsPolicy)
  if (policy !== undefined) pairs.push(['Permissions-Policy', policy])
  return Object.freeze({
    headers: headerList(pairs, WHERE),
    removed: Object.freeze([...new Set(recorded.removed)]),
  })
}

/**
 * Secure response headers for an API, on every answer: helmet's headers with an API preset
 * (`Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`, `Cache-Control:
 * no-store`, `Referrer-Policy: no-referrer`, `Strict-Transport-Security`,
 * `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, CORP and COOP `same-origin`),
 * `X-Powered-By` removed. They are computed once at startup by running helmet itself, then set
 * per request as one fixed list. Install it app-wide, first, so denials, errors, unknown routes
 * and body-parser errors carry them too (docs/headers.md says where on each framework).
 *
 * @example
 * ```ts
 * app.use(guard(secureHeaders()))                                        // Express, before express.json()
 * app.use(guard(secureHeaders({ strictTransportSecurity: { maxAge: 63072000, preload: true } })))
 * ```
 */
export function secureHeaders(options: SecureHeadersOptions = {}): Guard {
  const { headers, removed } = secureHeaderSet(options)
  const settings = { headers: headers.map(([name]) => name), removed }
  if (removed.length === 0) {
    return defineGuard((ctx) => ctx.setHeaders(headers), {
      guardName: 'secureHeaders',
      kind: 'headers',
      settings,
    })
  }
  return defineGuard(
    (ctx) => {
      ctx.setHeaders(headers)
      for (let i = 0; i < removed.length; i++) ctx.removeHeader(removed[i]!)
    },
    { guardName: 'secureHeaders', kind: 'headers', settings },
  )
}

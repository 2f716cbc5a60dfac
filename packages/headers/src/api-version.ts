import {
  checkOptions,
  createKey,
  type Deprecation,
  defineGuard,
  type Guard,
  type HeaderList,
  headerList,
  type KnownOptions,
  kDeprecation,
  type SecurityContext,
  type SecurityRequest,
  type StateKey,
} from '@apiward/core'
import { BadRequest } from '@apiward/errors'

/** Where {@link apiVersion} reads the version a request asks for. */
export type VersionSource = 'header' | 'path' | 'mediaType'

/** That a version or an operation is deprecated, as {@link apiVersion} and {@link deprecated} announce it. */
export interface DeprecationInfo {
  /**
   * When it was (or will be) deprecated: `Deprecation: @<unix seconds>` (RFC 9745). `true` when
   * the date is not known, sent as `@0`: RFC 9745 has only the date form, and any past date
   * says "deprecated already".
   */
  since: Date | true
  /** When it stops being served: `Sunset: <HTTP date>` (RFC 8594). Not before `since`. */
  sunset?: Date
  /** Where the migration is documented: `Link: <url>; rel="deprecation"` (an absolute http(s) URL). */
  link?: string
}

/** Options of {@link apiVersion}. */
export interface ApiVersionOptions {
  /** The versions served, e.g. `['1', '2']` (letters, digits, `.`, `_`, `-`). Required. */
  supported: readonly string[]
  /**
   * The version of a request that names none. Default: none, such a request is refused (400
   * `request.unsupported_version`), so no client silently gets a version it did not ask for.
   */
  default?: string
  /**
   * Where the version is read, in order: `'header'` (the `header` option), `'path'` (a first
   * segment `/v2/...`), `'mediaType'` (a `version` parameter of `Accept`:
   * `application/vnd.example+json; version=2`). Default `['header']`. A request that names two
   * different versions is refused: no two readers may disagree on what it asked for.
   */
  from?: readonly VersionSource[]
  /** The request header of `'header'`. Default `'Api-Version'`. */
  header?: string
  /** The deprecated versions and when they go: `{ '1': { since: new Date('2025-01-01'), sunset, link } }`. */
  deprecated?: Readonly<Record<string, DeprecationInfo>>
}

const OPTIONS: KnownOptions<ApiVersionOptions> = {
  supported: true,
  default: true,
  from: true,
  header: true,
  deprecated: true,
}
const MISTAKES: Readonly<Record<string, string>> = {
  versions: 'supported',
  defaultVersion: 'default',
  source: 'from',
  sources: 'from',
  headerName: 'header',
  deprecations: 'deprecated',
}
const WHERE = 'apiVersion()'
const VERSION = /^[A-Za-z0-9._-]{1,32}$/
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const SOURCES = new Set<VersionSource>(['header', 'path', 'mediaType'])
// `V` too: a router that ignores case serves `/V2/notes` as `/v2/notes`.
const PATH_VERSION = /^\/[vV]([A-Za-z0-9._-]{1,32})(?:\/|$)/
const LINK_URL = /^https?:\/\/[\x21-\x7e]+$/

/**
 * The version a request was served with, set by {@link apiVersion}: read it in a handler with
 * the adapter's `stateOf(req, kApiVersion)`.
 */
export const kApiVersion: StateKey<string> = createKey<string>('apiVersion')

function dateOption(value: unknown, name: string, where: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new TypeError(`${where}: ${name} must be a valid Date`)
  }
  return value
}

/** The headers that announce a deprecation, checked and built once. */
export function deprecationHeaders(info: DeprecationInfo, where = 'deprecated()'): HeaderList {
  if (typeof info !== 'object' || info === null) {
    throw new TypeError(`${where}: a deprecation must be { since, sunset?, link? }`)
  }
  checkOptions<DeprecationInfo>(info, where, { since: true, sunset: true, link: true })
  const since = info.since === true ? undefined : dateOption(info.since, 'since', where)
  const pairs: [string, string][] = [
    ['Deprecation', `@${since === undefined ? 0 : Math.floor(since.getTime() / 1000)}`],
  ]
  if (info.sunset !== undefined) {
    const sunset = dateOption(info.sunset, 'sunset', where)
    if (since !== undefined && sunset.getTime() < since.getTime()) {
      throw new TypeError(
        `${where}: sunset (${sunset.toISOString()}) is before since (${since.toISOString()})`,
      )
    }
    pairs.push(['Sunset', sunset.toUTCString()])
  }
  if (info.link !== undefined) {
    if (typeof info.link !== 'string' || !LINK_URL.test(info.link) || /[<>"]/.test(info.link)) {
      throw new TypeError(
        `${where}: link must be an absolute http(s) URL such as 'https://api.example.com/docs/v2'`,
      )
    }
    pairs.push(['Link', `<${info.link}>; rel="deprecation"; type="text/html"`])
  }
  return headerList(pairs, where)
}

/** Sets fixed deprecation headers; `Link` is appended, so other links stay. */
function announce(ctx: SecurityContext, headers: HeaderList): void {
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!
    if (name === 'link') ctx.appendHeader('link', value)
    else ctx.setHeader(name, value)
  }
}

/** The deprecation another guard recorded (`kDeprecation`, e.g. from an OpenAPI `deprecated: true`). */
function announceRecorded(ctx: SecurityContext, info: Deprecation): void {
  let headers: HeaderList
  try {
    headers = deprecationHeaders(info, 'kDeprecation')
  } catch {
    // A malformed record is not the client's fault: its headers are left out, the answer goes on.
    return
  }
  announce(ctx, headers)
}

/** The version of the `version` parameter of an `Accept` media range, if any. */
function mediaTypeVersion(accept: string | undefined): string | undefined {
  if (accept === undefined) return undefined
  for (const range of accept.split(',')) {
    const params = range.split(';')
    for (let i = 1; i < params.length; i++) {
      const param = params[i]!
      const eq = param.indexOf('=')
      if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'version') continue
      const value = param.slice(eq + 1).trim()
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
    }
  }
  return undefined
}

function unsupported(detail: string): BadRequest {
  return new BadRequest({ code: 'request.unsupported_version', detail })
}

/**
 * Reads the API version a request asks for (the `Api-Version` header, a `/v2/...` path, or
 * `Accept: application/vnd.example+json; version=2`), refuses one that is missing (without a
 * `default`), unknown or ambiguous with 400 `request.unsupported_version`, and hands the chosen
 * version to the handler under {@link kApiVersion}. A deprecated version's answers carry
 * `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and `Link: <...>; rel="deprecation"`; so do the
 * answers of an operation another guard marked deprecated (`kDeprecation`, which validate's
 * `openapi()` sets from `deprecated: true`): run it after that guard.
 *
 * @example
 * ```ts
 * const versions = apiVersion({ supported: ['1', '2'], default: '2', deprecated: { '1': { since: new Date('2025-06-01'), sunset: new Date('2026-06-01') } } })
 * app.get('/notes', guard(versions), (req, res) => res.json(stateOf(req, kApiVersion) === '1' ? v1(notes) : notes))
 * ```
 */
export function apiVersion(options: ApiVersionOptions): Guard {
  checkOptions<ApiVersionOptions>(
    options,
    WHERE,
    OPTIONS,
    MISTAKES,
    "{ supported: ['1', '2'], default: '2' }",
  )
  const { supported } = options
  if (!Array.isArray(supported) || supported.length === 0) {
    throw new TypeError(`${WHERE}: supported must list the versions served, e.g. ['1', '2']`)
  }
  for (const version of supported) {
    if (typeof version !== 'string' || !VERSION.test(version)) {
      throw new TypeError(
        `${WHERE}: supported: ${JSON.stringify(version)} is not a version such as '2' or '2024-06-01'`,
      )
    }
  }
  const served = new Set<string>(supported)
  const fallback = options.default
  if (fallback !== undefined && (typeof fallback !== 'string' || !served.has(fallback))) {
    throw new TypeError(`${WHERE}: default must be one of the supported versions (${supported.join(', ')})`)
  }
  const from: readonly VersionSource[] = options.from ?? ['header']
  if (!Array.isArray(from) || from.length === 0 || from.some((s) => !SOURCES.has(s))) {
    throw new TypeError(
      `${WHERE}: from must list where the version is read: 'header', 'path' and/or 'mediaType'`,
    )
  }
  const headerName = options.header ?? 'Api-Version'
  if (typeof headerName !== 'string' || !HEADER_NAME.test(headerName)) {
    throw new TypeError(`${WHERE}: header must be a header name such as 'Api-Version'`)
  }
  const header = headerName.toLowerCase()
  const notices = new Map<string, HeaderList>()
  for (const [version, info] of Object.entries(options.deprecated ?? {})) {
    if (!served.has(version)) {
      throw new TypeError(
        `${WHERE}: deprecated names ${JSON.stringify(version)}, which is not a supported version`,
      )
    }
    notices.set(version, deprecationHeaders(info, `${WHERE}: deprecated['${version}']`))
  }
  const readers: Record<VersionSource, (req: SecurityRequest) => string | undefined> = {
    header: (req) => req.header(header)?.trim(),
    path: (req) => PATH_VERSION.exec(req.path)?.[1],
    mediaType: (req) => mediaTypeVersion(req.header('accept')),
  }
  const sources = from.map((s: VersionSource) => readers[s])
  const hint = `send ${headerName}: ${supported.at(-1)}`
  return defineGuard(
    (ctx) => {
      let asked: string | undefined
      for (const read of sources) {
        const version = read(ctx.req)
        if (version === undefined || version === '') continue
        if (asked !== undefined && asked !== version) {
          ctx.emit('version.unsupported', { severity: 'warn', version: asked.slice(0, 64) })
          throw unsupported('The request names two different API versions.')
        }
        asked = version
      }
      const version = asked ?? fallback
      if (version === undefined) {
        ctx.emit('version.unsupported', { severity: 'warn' })
        throw unsupported(`The request names no API version; ${hint}.`)
      }
      if (!served.has(version)) {
        ctx.emit('version.unsupported', { severity: 'warn', version: version.slice(0, 64) })
        throw unsupported(`This API serves versions ${supported.join(', ')}.`)
      }
      ctx.set(kApiVersion, version)
      const notice = notices.get(version)
      if (notice !== undefined) announce(ctx, notice)
      else {
        const recorded = ctx.get(kDeprecation)
        if (recorded !== undefined) announceRecorded(ctx, recorded)
      }
    },
    {
      guardName: 'apiVersion',
      kind: 'validation',
      settings: {
        supported: [...supported],
        default: fallback,
        from: [...from],
        deprecated: [...notices.keys()],
      },
    },
  )
}

/**
 * Marks the operations of a route as deprecated: its answers carry `Deprecation`, `Sunset` and
 * `Link: <...>; rel="deprecation"`, computed once, and `kDeprecation` is set for other guards.
 *
 * @example
 * ```ts
 * app.get('/notes/search', guard(deprecated({ since: new Date('2025-06-01'), link: 'https://api.example.com/docs/search' })), search)
 * ```
 */
export function deprecated(info: DeprecationInfo): Guard {
  const headers = deprecationHeaders(info)
  const record: Deprecation = Object.freeze({ ...info })
  return defineGuard(
    (ctx) => {
      ctx.set(kDeprecation, record)
      announce(ctx, headers)
    },
    { guardName: 'deprecated', kind: 'headers', settings: { headers: headers.map(([n]) => n) } },
  )
}

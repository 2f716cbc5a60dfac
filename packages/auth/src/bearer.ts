import type { SecurityContext, SecurityRequest } from '@apiward/core'
import { ApiError } from '@apiward/errors'
import { BearerChallenges } from './errors.js'

/**
 * Where a bearer token may be sent: the three places of RFC 6750 section 2, and a cookie
 * (`jwt()` only, with its `cookie` option), which browsers send on their own and so exposes the
 * API to cross-site request forgery.
 */
export type TokenLocation = 'header' | 'query' | 'body' | 'cookie'

/** A token extractor of your own: the token, or `undefined` when the request carries none. */
export type TokenExtractor = (req: SecurityRequest) => string | undefined

/** RFC 6750 `b64token`, the only shape a bearer token may have. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const SCHEME = 'bearer '

/** Whether a string has the RFC 6750 `b64token` shape. */
export function isB64Token(token: string): boolean {
  return B64TOKEN.test(token)
}

/**
 * A bearer token found in the request, or `undefined` when none was sent. A token from the
 * `Authorization` header is not yet checked against the `b64token` grammar: call
 * `isB64Token()` before using a token that was not verified before.
 */
export interface BearerExtractor {
  (req: SecurityRequest): string | undefined
  /** Whether the request carries a bearer token in one of the enabled places (valid or not). */
  present(req: SecurityRequest): boolean
}

function fromHeader(req: SecurityRequest, errors: BearerChallenges): string | undefined {
  const values = req.headerValues('authorization')
  if (values === undefined || values.length === 0) return undefined
  if (values.length > 1) throw errors.invalidRequest('Send exactly one Authorization header.')
  const value = values[0]!
  // `Bearer ` as clients spell it is compared as it is; any other case is lower-cased first.
  if (
    !value.startsWith('Bearer ') &&
    (value.length < SCHEME.length || value.slice(0, SCHEME.length).toLowerCase() !== SCHEME)
  ) {
    // Another scheme (Basic, ApiKey...) is not a bearer token: this guard sees no credential.
    if (/^bearer(\s|$)/i.test(value)) throw errors.invalidRequest('The bearer token is missing or malformed.')
    return undefined
  }
  let start = SCHEME.length
  while (value.charCodeAt(start) === 32) start++
  // The b64token check is left to the caller, which skips it for a token it already verified.
  if (start === value.length) throw errors.invalidRequest('The bearer token is missing or malformed.')
  return value.slice(start)
}

function fromParams(
  source: Readonly<Record<string, unknown>> | undefined,
  errors: BearerChallenges,
): string | undefined {
  if (source === undefined || source === null || typeof source !== 'object') return undefined
  if (!Object.hasOwn(source, 'access_token')) return undefined
  const value = source.access_token
  if (typeof value !== 'string' || !B64TOKEN.test(value)) {
    throw errors.invalidRequest('Send exactly one well-formed access_token.')
  }
  return value
}

/**
 * The form a token may be sent in (RFC 6750 section 2.2): an `application/x-www-form-urlencoded`
 * body, of a method whose body has a meaning (never GET or HEAD). A JSON body, or any other,
 * carries no token, however its parser named its members.
 */
function bodyOf(req: SecurityRequest): Readonly<Record<string, unknown>> | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || !req.is('application/x-www-form-urlencoded')) {
    return undefined
  }
  const body = req.body
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined
}

/** RFC 6265 cookie-name: an HTTP token. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * The values of the cookie `name` in the request's `Cookie` header(s), in order. A cookie sent
 * twice (a sibling subdomain can set one for the parent domain: cookie tossing) is not guessed
 * between: the caller refuses it.
 */
function cookieValues(req: SecurityRequest, name: string): string[] {
  const headers = req.headerValues('cookie')
  if (headers === undefined) return []
  const found: string[] = []
  for (const header of headers) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=')
      if (eq === -1 || pair.slice(0, eq).trim() !== name) continue
      let value = pair.slice(eq + 1).trim()
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
      found.push(value)
    }
  }
  return found
}

function fromCookie(req: SecurityRequest, name: string, errors: BearerChallenges): string | undefined {
  const values = cookieValues(req, name)
  if (values.length === 0) return undefined
  if (values.length > 1 || values[0] === '') {
    throw errors.invalidRequest(`Send exactly one non-empty ${name} cookie.`)
  }
  return values[0]
}

/**
 * A token extractor of your own, read strictly: a string is the token (checked against the
 * `b64token` grammar like any other), `undefined` or `null` means none; any other answer or a
 * throw refuses the request with 400 `invalid_request` (the error kept as its `cause`), and an
 * `ApiError` it throws is answered as it is.
 */
function customExtractor(extractToken: TokenExtractor, errors: BearerChallenges): BearerExtractor {
  const extract = (req: SecurityRequest): string | undefined => {
    let token: unknown
    try {
      token = extractToken(req)
    } catch (err) {
      if (ApiError.is(err)) throw err
      throw errors.invalidRequest('The bearer token is missing or malformed.', err)
    }
    if (token === undefined || token === null) return undefined
    if (typeof token !== 'string' || token === '') {
      throw errors.invalidRequest(
        'The bearer token is missing or malformed.',
        new TypeError(`extractToken answered ${typeof token}, not a string or undefined`),
      )
    }
    return token
  }
  return Object.assign(extract, {
    present(req: SecurityRequest): boolean {
      try {
        return extract(req) !== undefined
      } catch {
        // A credential this guard cannot read is still its credential: it answers the 400.
        return true
      }
    },
  })
}

/**
 * Builds the token extractor for a set of locations. Exactly one token in exactly one place,
 * else 400 `invalid_request`, as RFC 6750 section 2 requires.
 */
export function bearerExtractor(
  locations: readonly TokenLocation[],
  errors: BearerChallenges,
  cookieName?: string,
): BearerExtractor {
  const header = locations.includes('header')
  const query = locations.includes('query')
  const body = locations.includes('body')
  const cookie = locations.includes('cookie') ? cookieName : undefined
  const extract = (req: SecurityRequest): string | undefined => {
    let found = header ? fromHeader(req, errors) : undefined
    for (const candidate of [
      query ? fromParams(req.query, errors) : undefined,
      body ? fromParams(bodyOf(req), errors) : undefined,
      cookie === undefined ? undefined : fromCookie(req, cookie, errors),
    ]) {
      if (candidate === undefined) continue
      if (found !== undefined) throw errors.invalidRequest('Send the access token in one place only.')
      found = candidate
    }
    return found
  }
  const onlyHeader = header && !query && !body && cookie === undefined
  const bearer = onlyHeader ? (req: SecurityRequest) => fromHeader(req, errors) : extract
  return Object.assign(bearer, {
    present(req: SecurityRequest): boolean {
      if (header) {
        const value = req.header('authorization')
        if (value !== undefined && /^bearer(\s|$)/i.test(value)) return true
      }
      if (query && Object.hasOwn(req.query ?? {}, 'access_token')) return true
      if (body) {
        const b = bodyOf(req)
        if (b !== undefined && Object.hasOwn(b, 'access_token')) return true
      }
      return cookie !== undefined && cookieValues(req, cookie).length > 0
    },
  })
}

/** The bearer options `jwt()` and `introspection()` share. */
export interface BearerOptions {
  tokenLocations?: readonly TokenLocation[]
  required?: boolean
  realm?: string
  maxTokenLength?: number
  cookie?: string
  extractToken?: TokenExtractor
}

/** {@link BearerOptions}, checked, with the extractor and the challenges they make. */
export interface BearerSettings {
  readonly extract: BearerExtractor
  readonly challenges: BearerChallenges
  readonly required: boolean
  readonly maxTokenLength: number
  /** Whether the token may be in the body, so the guard must wait for it. */
  readonly needsBody: boolean
  /** Emits the `auth.failure` of a request without a token, and returns its 401. */
  readonly missingToken: (ctx: SecurityContext) => ApiError
}

/**
 * Checks the bearer options once, at build time; a `TypeError` names the bad one. `also` adds
 * another scheme's challenge to every answer (see `BearerChallenges`).
 */
export function bearerSettings(
  options: BearerOptions,
  where: string,
  credential: 'jwt' | 'introspection',
  also?: (error: string | undefined) => string,
): BearerSettings {
  const maxTokenLength = options.maxTokenLength ?? 8192
  if (!Number.isInteger(maxTokenLength) || maxTokenLength < 64) {
    throw new TypeError(`${where}: maxTokenLength is an integer number of characters, at least 64.`)
  }
  const { cookie, extractToken } = options
  if (extractToken !== undefined) {
    if (typeof extractToken !== 'function') {
      throw new TypeError(`${where}: extractToken is a function (req) => string | undefined.`)
    }
    if (options.tokenLocations !== undefined || cookie !== undefined) {
      throw new TypeError(
        `${where}: extractToken finds the token itself; drop tokenLocations and cookie, or drop extractToken.`,
      )
    }
  }
  const locations = options.tokenLocations ?? ['header']
  const cookies = credential === 'jwt'
  if (
    !Array.isArray(locations) ||
    locations.length === 0 ||
    locations.some((l) => l !== 'header' && l !== 'query' && l !== 'body' && (l !== 'cookie' || !cookies))
  ) {
    throw new TypeError(
      `${where}: tokenLocations lists one or more of 'header', 'query', 'body'${cookies ? ", and 'cookie' (with cookie: 'access_token')" : ''}.`,
    )
  }
  if (cookie !== undefined && (typeof cookie !== 'string' || !COOKIE_NAME.test(cookie))) {
    throw new TypeError(
      `${where}: cookie is the name of the cookie that carries the token, e.g. 'access_token'.`,
    )
  }
  if (locations.includes('cookie') !== (cookie !== undefined)) {
    throw new TypeError(
      cookie === undefined
        ? `${where}: tokenLocations lists 'cookie'; name it with cookie: 'access_token'.`
        : `${where}: cookie names the token cookie, but tokenLocations does not list 'cookie': tokenLocations: ['cookie'] reads only the cookie, ['header', 'cookie'] either (a token in both is refused).`,
    )
  }
  if (options.required !== undefined && typeof options.required !== 'boolean') {
    throw new TypeError(`${where}: required is true or false.`)
  }
  if (options.realm !== undefined && typeof options.realm !== 'string') {
    throw new TypeError(`${where}: realm is a string, e.g. 'api'.`)
  }
  const challenges = new BearerChallenges(options.realm ?? 'api', also)
  return {
    extract:
      extractToken === undefined
        ? bearerExtractor(locations, challenges, cookie)
        : customExtractor(extractToken, challenges),
    challenges,
    required: options.required !== false,
    maxTokenLength,
    needsBody: locations.includes('body'),
    missingToken(ctx) {
      ctx.emit('auth.failure', { severity: 'info', code: 'auth.missing_token', credential })
      return challenges.missingToken()
    },
  }
}

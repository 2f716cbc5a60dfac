import {
  booleanOption,
  checkOptions,
  createKey,
  defineGuard,
  type Guard,
  type KnownOptions,
  mediaTypeMatches,
  type SecurityContext,
  warnOnce,
} from '@apiward/core'
import { type ApiError, BadRequest, UnsupportedMediaType } from '@apiward/errors'
import { rejectedEvent } from './rejected.js'
import { checkJsonValue, type JsonLimits, parseJsonBytes } from './safe-json.js'

/** Options of {@link jsonBody}. */
export interface JsonBodyOptions {
  /**
   * The largest body accepted, in bytes. Default 102400 (100 KiB). A declared `Content-Length`
   * over it is refused before a byte is read, a chunked body at the byte that passes it (413
   * `request.body_too_large`): nothing past the limit is ever buffered.
   */
  limit?: number
  /**
   * The deepest nesting accepted (the top-level value is depth 1). Default 32: deeper documents
   * are 400 `validation.body_too_complex` before anything recursive (`JSON.stringify`, ajv on
   * recursive schemas, projections, log redaction) touches them.
   */
  maxDepth?: number
  /** The most keys one object may have. Default 1000 (400 `validation.body_too_complex` beyond). */
  maxKeys?: number
  /** The most elements one array may have. Default 10000 (400 `validation.body_too_complex` beyond). */
  maxArrayLength?: number
  /**
   * The media types accepted: full types (`application/json`) or structured suffixes
   * (`+json`). Default `['application/json', '+json']`. Anything else, a missing type with a
   * body included, is 415 `request.unsupported_media_type`. A charset other than UTF-8 is 415
   * `request.unsupported_charset`; a `Content-Encoding` other than `identity` is 415
   * `request.unsupported_encoding`.
   */
  types?: readonly string[]
  /**
   * Accept numbers that lost their value while parsing: non-finite ones (`1e309` parses as
   * `Infinity`) and whole numbers beyond `Number.MAX_SAFE_INTEGER` (`9007199254740993` parses
   * as `...992`). Default `false`: they are 400 `validation.unsafe_number`, since an id or an
   * amount that silently changed is worse than a refusal.
   */
  dangerouslyAllowUnsafeNumbers?: boolean
}

const OPTIONS: KnownOptions<JsonBodyOptions> = {
  limit: true,
  maxDepth: true,
  maxKeys: true,
  maxArrayLength: true,
  types: true,
  dangerouslyAllowUnsafeNumbers: true,
}
const MISTAKES: Readonly<Record<string, string>> = {
  type: 'types',
  inflate: 'types (compressed bodies are not accepted)',
  strict: 'types',
  depth: 'maxDepth',
  reviver: 'a guard after jsonBody() that reads ctx.req.body',
}

/** The resolved options of a {@link jsonBody} guard. */
export interface JsonBodySettings extends JsonLimits {
  readonly limit: number
  readonly types: readonly string[]
}

/**
 * The defaults of {@link jsonBody}: 100 KiB, 32 levels, 1000 keys per object, 10000 elements per
 * array, JSON media types only. Each is far above what an API's requests need and far below what
 * makes parsing, validation or a recursive walk expensive.
 */
export const DEFAULT_JSON_BODY = {
  limit: 102_400,
  maxDepth: 32,
  maxKeys: 1000,
  maxArrayLength: 10_000,
  types: ['application/json', '+json'],
} as const satisfies Omit<JsonBodySettings, 'allowUnsafeNumbers'>

/** The body a `jsonBody()` guard parsed, so a second one (app-wide and per route) does not read again. */
export const kParsedBody = createKey<{ readonly value: unknown }>('validate.parsedBody')

function sizeOption(value: unknown, name: string, where: string, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`${where}: ${name} must be an integer of at least ${min}, e.g. ${fallback}`)
  }
  return value
}

/** Reads and checks the options of `jsonBody()` once, at startup. */
export function jsonBodySettings(options: unknown, where: string): JsonBodySettings {
  checkOptions<JsonBodyOptions>(options, where, OPTIONS, MISTAKES, '{ limit: 102400 }')
  const types = options.types ?? DEFAULT_JSON_BODY.types
  if (
    !Array.isArray(types) ||
    types.length === 0 ||
    !types.every(
      (t) => typeof t === 'string' && (/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/i.test(t) || /^\+[a-z0-9.-]+$/i.test(t)),
    )
  ) {
    throw new TypeError(
      `${where}: types must be a non-empty list of media types or suffixes, e.g. ['application/json', '+json']`,
    )
  }
  if (!types.every((t) => t.toLowerCase().endsWith('json'))) {
    throw new TypeError(
      `${where}: types must be JSON media types (application/json, +json), got ${types.join(', ')}`,
    )
  }
  return {
    limit: sizeOption(options.limit, 'limit', where, DEFAULT_JSON_BODY.limit, 1),
    maxDepth: sizeOption(options.maxDepth, 'maxDepth', where, DEFAULT_JSON_BODY.maxDepth, 1),
    maxKeys: sizeOption(options.maxKeys, 'maxKeys', where, DEFAULT_JSON_BODY.maxKeys, 1),
    maxArrayLength: sizeOption(
      options.maxArrayLength,
      'maxArrayLength',
      where,
      DEFAULT_JSON_BODY.maxArrayLength,
      1,
    ),
    types: Object.freeze(types.map((t) => t.toLowerCase())),
    allowUnsafeNumbers: booleanOption(
      options.dangerouslyAllowUnsafeNumbers,
      'dangerouslyAllowUnsafeNumbers',
      where,
      false,
    ),
  }
}

/** Whether the request carries a body, from its framing (RFC 9112 §6.3). */
function hasBody(ctx: SecurityContext): boolean {
  const length = ctx.req.header('content-length')
  if (length !== undefined) return length.trim() !== '0'
  return ctx.req.header('transfer-encoding') !== undefined
}

// The charset parameter of a Content-Type value, lower case, quotes removed; '' when absent.
const CHARSET = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i

function mediaTypeError(ctx: SecurityContext, types: readonly string[]): ApiError | undefined {
  const type = ctx.req.contentType
  if (!mediaTypeMatches(type, types)) {
    return new UnsupportedMediaType({
      code: 'request.unsupported_media_type',
      detail: `The request body must be JSON (${types.map((t) => (t.startsWith('+') ? `application/*${t}` : t)).join(', ')}).`,
    })
  }
  const charset = CHARSET.exec(ctx.req.header('content-type') ?? '')?.[2]?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return new UnsupportedMediaType({
      code: 'request.unsupported_charset',
      detail: 'The request body must be encoded in UTF-8.',
    })
  }
  const encoding = ctx.req.header('content-encoding')
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return new UnsupportedMediaType({
      code: 'request.unsupported_encoding',
      detail: 'The request body must not be compressed.',
    })
  }
  return undefined
}

const emptyBody = () =>
  new BadRequest({
    code: 'request.malformed_body',
    detail: 'The request body is empty but its type says JSON.',
  })

const NOT_MOUNTED_FIRST =
  "jsonBody() ran after a body parser that had read the body already (express.json(), bodyParser(), ...), so the body limit and media-type checks were that parser's; the parsed value was still checked for depth, size, prototype keys and numbers. Mount jsonBody() (or validate()) before other body parsers, or drop them."

/** Reads, parses and checks the body as the settings say, and hands it to the handler. */
export async function readJsonBody(ctx: SecurityContext, settings: JsonBodySettings): Promise<void> {
  if (ctx.get(kParsedBody) !== undefined) return
  if (!hasBody(ctx)) {
    // GET and HEAD bodies mean nothing, and no parser reads them.
    const method = ctx.req.method
    if (method === 'GET' || method === 'HEAD' || !mediaTypeMatches(ctx.req.contentType, settings.types))
      return
    throw rejectedEvent(ctx, 'body', emptyBody())
  }
  const refused = mediaTypeError(ctx, settings.types)
  // A chunked request without a type may carry no byte at all (Node's client sends an empty
  // POST so): it is a request without a body, which only its end can tell.
  const untyped = refused !== undefined && ctx.req.header('content-type') === undefined
  if (refused !== undefined && !untyped) throw rejectedEvent(ctx, 'body', refused)
  let bytes: Uint8Array
  try {
    bytes = await ctx.readBody(settings.limit)
    if (untyped) {
      if (bytes.length === 0) return
      throw refused
    }
  } catch (err) {
    if (!(err instanceof TypeError) || ctx.req.body === undefined) throw rejectedEvent(ctx, 'body', err)
    warnOnce('APIWARD_VALIDATE_PARSER_FIRST', NOT_MOUNTED_FIRST, 'validate.md#jsonbody')
    const checked = checkJsonValue(ctx.req.body, settings)
    if (checked !== undefined) throw rejectedEvent(ctx, 'body', checked)
    ctx.set(kParsedBody, { value: ctx.req.body })
    return
  }
  if (bytes.length === 0) throw rejectedEvent(ctx, 'body', emptyBody())
  let value: unknown
  try {
    value = parseJsonBytes(bytes, settings)
  } catch (err) {
    throw rejectedEvent(ctx, 'body', err)
  }
  ctx.set(kParsedBody, { value })
  ctx.setBody(value)
}

/**
 * A safe JSON body parser, in place of `express.json()`, `@koa/bodyparser` or Fastify's own: it
 * reads the body through the adapter's body seam with a streamed byte limit (413 before the body
 * is buffered past it), accepts only JSON media types in UTF-8 (415 otherwise, a missing type
 * with a body included), refuses malformed and empty JSON without echoing it (400
 * `request.malformed_body`), prototype keys (`__proto__`, `constructor.prototype`: 400
 * `validation.forbidden_key`), numbers that lost their value (`1e309`, integers beyond 2^53 - 1:
 * 400 `validation.unsafe_number`) and documents too deep or too wide (400
 * `validation.body_too_complex`), then hands the value to the handler in the framework's own
 * place (`req.body`, `ctx.request.body`, `request.body`).
 *
 * A request without a body goes on with no body (`undefined`), unless its type says JSON: that
 * is 400 `request.malformed_body`, as an empty body is (GET and HEAD excepted). On Fastify the
 * guard runs as soon as the headers are in, so an oversized or mistyped body is refused before
 * Fastify's own parser runs; mount it before other body parsers on Express and Koa.
 *
 * @example
 * ```ts
 * app.post('/notes', guard(jwt(opts), jsonBody({ limit: 64 * 1024 })), createNote)
 * ```
 */
export function jsonBody(options: JsonBodyOptions = {}): Guard {
  const settings = jsonBodySettings(options, 'jsonBody()')
  return defineGuard((ctx) => readJsonBody(ctx, settings), {
    guardName: 'jsonBody',
    readsRawBody: true,
    kind: 'validation',
    settings: {
      limit: settings.limit,
      maxDepth: settings.maxDepth,
      maxKeys: settings.maxKeys,
      maxArrayLength: settings.maxArrayLength,
      types: settings.types,
      unsafeNumbers: settings.allowUnsafeNumbers,
    },
  })
}

import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import {
  ApiError,
  BadRequest,
  PayloadTooLarge,
  type RenderedProblem,
  toApiError,
  UnsupportedMediaType,
} from '@apiward/errors'
import { Answer } from './answer.js'
import type { SecurityContext } from './context.js'
import type { SecurityEventBus } from './events.js'
import type { Guard } from './guard.js'
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.js'

/** Options every adapter's `createGuard()` and `errorHandler()` accept. */
export interface AdapterOptions {
  /** Where guards' security events go. Default: the process-wide `securityEvents`. */
  events?: SecurityEventBus
  /** Prefix of problem `type` URIs, e.g. `https://api.example.com/problems/`. */
  problemTypeBase?: string
  /**
   * Receives errors that become a generic 500 (the client learns nothing about them). Default:
   * writes the error and the request ID to `console.error`, so no failure goes unseen.
   */
  onUnexpectedError?: (err: unknown, requestId: string) => void
  /**
   * The header that carries the request ID in both directions: a well-formed incoming value
   * (`^[A-Za-z0-9._-]{1,128}$`) becomes the request's ID, and the ID is echoed on every response
   * that passes a guard or the error handling. Default `'X-Request-Id'`. `false` sends no
   * response header (the ID still comes from an incoming `X-Request-Id` or is generated, and
   * still appears in problem documents and security events): for deployments where a proxy or
   * the framework already echoes one. Node spends about as much on one response header as on
   * an empty guard, so it is worth turning off where it is redundant.
   */
  requestIdHeader?: string | false
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * Checks the options every adapter accepts and throws a `TypeError` that says what to change;
 * adapters call it once, when a guard or an error handler is built.
 */
export function checkAdapterOptions(options: AdapterOptions, where: string): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where}: options must be an object`)
  }
  const { requestIdHeader, onUnexpectedError, problemTypeBase } = options
  if (
    requestIdHeader !== undefined &&
    requestIdHeader !== false &&
    (typeof requestIdHeader !== 'string' || !HEADER_NAME.test(requestIdHeader))
  ) {
    throw new TypeError(
      `${where}: requestIdHeader must be a header name such as 'X-Request-Id', or false to send none; got ${String(requestIdHeader)}`,
    )
  }
  if (onUnexpectedError !== undefined && typeof onUnexpectedError !== 'function') {
    throw new TypeError(`${where}: onUnexpectedError must be a function (err, requestId) => void`)
  }
  if (problemTypeBase !== undefined && typeof problemTypeBase !== 'string') {
    throw new TypeError(
      `${where}: problemTypeBase must be a string such as 'https://api.example.com/problems/'`,
    )
  }
}

/** The request ID of a Node request, read from the header `requestIdHeader` names (see `AdapterOptions`). */
export function incomingRequestId(
  headers: IncomingHttpHeaders,
  requestIdHeader: string | false | undefined,
): string {
  return requestIdFrom(
    headers[typeof requestIdHeader === 'string' ? requestIdHeader.toLowerCase() : REQUEST_ID_HEADER],
  )
}

/** The default `onUnexpectedError`: one line to stderr with the request ID and the stack. */
export function logUnexpectedError(err: unknown, requestId: string): void {
  const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err)
  console.error(`[apiward] unexpected error in request ${requestId}: ${text}`)
}

const BODY_PARSER_TYPES: Record<string, () => ApiError> = {
  'entity.parse.failed': () =>
    new BadRequest({ code: 'request.malformed_body', detail: 'The request body could not be parsed.' }),
  'entity.too.large': () => new PayloadTooLarge(),
  'entity.verify.failed': () =>
    new BadRequest({ code: 'request.invalid_body', detail: 'The request body was refused.' }),
  'request.aborted': () =>
    new BadRequest({ code: 'request.aborted', detail: 'The request body was not received completely.' }),
  'request.size.invalid': () =>
    new BadRequest({
      code: 'request.invalid_body',
      detail: 'The request body does not match its declared length.',
    }),
  'encoding.unsupported': () =>
    new UnsupportedMediaType({
      code: 'request.unsupported_encoding',
      detail: 'The content encoding is not supported.',
    }),
  'charset.unsupported': () =>
    new UnsupportedMediaType({
      code: 'request.unsupported_charset',
      detail: 'The body charset is not supported.',
    }),
  'parameters.too.many': () => new PayloadTooLarge({ detail: 'The request body has too many parameters.' }),
  'stream.encoding.set': () => new BadRequest(),
}

const FASTIFY_CODES: Record<string, () => ApiError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: BODY_PARSER_TYPES['entity.parse.failed']!,
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new BadRequest({
      code: 'request.malformed_body',
      detail: 'The request body is empty but its type says JSON.',
    }),
  FST_ERR_CTP_BODY_TOO_LARGE: BODY_PARSER_TYPES['entity.too.large']!,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new UnsupportedMediaType(),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: BODY_PARSER_TYPES['request.size.invalid']!,
  FST_ERR_CTP_INVALID_TYPE: () => new UnsupportedMediaType(),
  FST_ERR_CTP_EMPTY_TYPE: () => new UnsupportedMediaType(),
  FST_ERR_VALIDATION: () =>
    new BadRequest({ code: 'request.invalid', detail: 'The request failed validation.' }),
  FST_ERR_BAD_URL: () =>
    new BadRequest({
      code: 'request.invalid_path',
      detail: 'The request path has malformed percent-encoding.',
    }),
}

/**
 * Maps an error thrown by a framework or its body parser to a client-safe `ApiError`:
 * malformed JSON is a 400, a body over the limit a 413, an unsupported media type or charset
 * a 415 (body-parser / co-body `type`s, JSON `SyntaxError`s marked 400, and Fastify `FST_ERR_*`
 * codes are known). Anything else
 * goes through `toApiError` (4xx by status, otherwise a generic 500).
 */
export function frameworkErrorToApiError(err: unknown): ApiError {
  if (ApiError.is(err)) return err
  if (typeof err === 'object' && err !== null) {
    const { type, code } = err as { type?: unknown; code?: unknown }
    const byType = typeof type === 'string' ? BODY_PARSER_TYPES[type] : undefined
    if (byType) return withCause(byType(), err)
    const byCode = typeof code === 'string' ? FASTIFY_CODES[code] : undefined
    if (byCode) return withCause(byCode(), err)
    // co-body (Koa) and Fastify 4 throw the JSON parser's SyntaxError marked 400, with no type.
    const { status, statusCode } = err as { status?: unknown; statusCode?: unknown }
    if (err instanceof SyntaxError && (status === 400 || statusCode === 400)) {
      return withCause(BODY_PARSER_TYPES['entity.parse.failed']!(), err)
    }
  }
  return toApiError(err)
}

function withCause(error: ApiError, cause: unknown): ApiError {
  Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true })
  return error
}

/** Adds `HEAD` where `GET` is allowed and returns the methods sorted, for an `Allow` header. */
export function allowHeaderMethods(methods: Iterable<string>): string[] {
  const set = new Set<string>()
  for (const m of methods) set.add(m.toUpperCase())
  if (set.has('GET')) set.add('HEAD')
  return [...set].sort()
}

/**
 * The `Allow` value of the 204 answer to an `OPTIONS` request on a path whose routes accept
 * `methods` (none of them `OPTIONS`): those methods, `HEAD` where `GET` is, and `OPTIONS`.
 */
export function optionsAllowHeader(methods: Iterable<string>): string {
  return allowHeaderMethods([...methods, 'OPTIONS']).join(', ')
}

/**
 * What a guard failed with, never falsy: a guard that throws or rejects with `null`, `undefined`,
 * `0`, `''` or `false` fails with an `Error` instead. Express' `next(err)`, Fastify's `done(err)`
 * and any `(err) => ...` callback read a falsy error as "no error, go on", which would let the
 * request through to the handler; this way it is a 500 like any other failure.
 */
export function guardFailure(err: unknown): unknown {
  return err || new Error(`A guard failed without a reason (it threw or rejected with ${String(err)})`)
}

/**
 * Runs a guard and reports once through `done`: `done()` when it allowed, `done(err)` when it
 * denied or failed (`err` never falsy, see `guardFailure`). A synchronous guard reports
 * synchronously, so no promise is made for it.
 */
export function runGuard(guard: Guard, ctx: SecurityContext, done: (err?: unknown) => void): void {
  let result: void | PromiseLike<void>
  try {
    result = guard(ctx)
  } catch (err) {
    done(guardFailure(err))
    return
  }
  if (result !== undefined && typeof result.then === 'function') {
    result.then(
      () => done(),
      (err: unknown) => done(guardFailure(err)),
    )
  } else done()
}

/**
 * Renders any error for a request: framework errors are mapped (`frameworkErrorToApiError`),
 * an unexpected error is reported through `onUnexpectedError` and becomes a generic 500. A
 * reporter that throws is itself reported to stderr; the answer stays the problem+json 500.
 */
export function renderProblem(ctx: SecurityContext, err: unknown, options: AdapterOptions): RenderedProblem {
  const error = frameworkErrorToApiError(err)
  if (error.status >= 500 && !ApiError.is(err)) {
    const report = options.onUnexpectedError ?? logUnexpectedError
    try {
      report(err, ctx.requestId)
    } catch (failure) {
      // A throwing reporter must not take the answer over: the framework's own 500 page would
      // carry its stack trace. Both errors still reach stderr.
      logUnexpectedError(failure, ctx.requestId)
      logUnexpectedError(err, ctx.requestId)
    }
  }
  return ctx.renderError(error, options.problemTypeBase)
}

/** What an adapter writes for a request that a guard ended: an answer, or a problem document. */
export interface RenderedOutcome {
  status: number
  /** Response headers, `content-type` included when there is a body. */
  headers: Readonly<Record<string, string>>
  /** The serialised body, `undefined` for none. */
  body: string | undefined
}

/**
 * What a guard's throw becomes on the wire: an `Answer` as it is (see `answerNow`), anything
 * else as its problem document (`renderProblem`). Every adapter writes the result the same way,
 * so a preflight, a redirect and a denial take one path.
 */
export function renderOutcome(
  ctx: SecurityContext,
  thrown: unknown,
  options: AdapterOptions,
): RenderedOutcome {
  if (Answer.is(thrown)) return thrown
  const { status, headers, body } = renderProblem(ctx, thrown, options)
  return { status, headers, body: JSON.stringify(body) }
}

/**
 * Hooks a Node response's `writeHead` once, so the list headers and removals a context collected
 * (`appendHeader`, `removeHeader`) are applied when the headers are written, on every answer
 * (handler, error handling, the framework's own). Headers a framework passes to `writeHead`
 * itself (Fastify does) are merged there, where Node would otherwise let them override.
 */
export function hookWriteHead(res: ServerResponse, ctx: SecurityContext): void {
  const writeHead = res.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse
  res.writeHead = function apiwardWriteHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
    const passed = (typeof args[1] === 'object' ? args[1] : args[2]) as OutgoingHttpHeaders | undefined
    const own = passed !== undefined && passed !== null && !Array.isArray(passed) ? passed : undefined
    ctx.applySendHeaders({
      getHeader: (name) => (own !== undefined && name in own ? own[name] : this.getHeader(name)),
      setHeader: (name, value) => {
        if (own !== undefined && name in own) own[name] = value
        else this.setHeader(name, value)
      },
      removeHeader: (name) => {
        if (own !== undefined) delete own[name]
        this.removeHeader(name)
      },
    })
    return writeHead.apply(this, args)
  } as ServerResponse['writeHead']
}

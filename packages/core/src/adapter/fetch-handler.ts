import { ApiError, BadRequest, InternalServerError, PayloadTooLarge, toProblem } from '@apiward/errors'
import { Answer } from '../answer.js'
import type { SecurityContext } from '../context.js'
import { compose, type Guard, type GuardInput } from '../guard.js'
import { mediaTypeMatches, mediaTypeOf } from '../media-type.js'
import { booleanOption, checkOptions, type KnownOptions } from '../options.js'
import { EXACT_ROUTER, type RoutingPolicy } from '../path.js'
import { newRequestId, REQUEST_ID_HEADER } from '../request-id.js'
import {
  createFetchContext,
  FetchBinding,
  type FetchReader,
  FetchRequest,
  finishResponse,
  outcomeResponse,
} from './fetch.js'
import {
  type AdapterOptions,
  checkAdapterOptions,
  guardFailure,
  logUnexpectedError,
  markGuards,
  runGuard,
} from './kit.js'
import { contextOnHolder } from './node.js'
import { compileTrustProxy, type TrustFn, type TrustProxy } from './trust-proxy.js'

/** The options of an adapter over WHATWG `Request`s besides the adapter options: what its runtime does not resolve. */
export interface FetchAdapterOptions extends AdapterOptions {
  /** Which proxies are trusted with `X-Forwarded-*` headers (see `TrustProxy`). Default: none. */
  trustProxy?: TrustProxy
  /** How the router compares paths. Default: case-sensitive with the trailing slash significant. */
  routing?: RoutingPolicy
  /** Whether this server itself serves TLS, where the runtime does not say it reliably. Default: from the runtime. */
  secureServer?: boolean
}

/** Fetch adapter options parsed once, when a guard or a handler is built. */
export interface FetchConfiguration extends AdapterOptions {
  readonly trust: TrustFn
  readonly routing: RoutingPolicy
  readonly secureServer: boolean | undefined
}

const EXTRA = { trustProxy: true, routing: true, secureServer: true } as const

/**
 * Checks the options of a fetch adapter's entry point and compiles them; a mistake is a
 * `TypeError` naming the option and the fix.
 *
 * @example
 * ```ts
 * const config = configureFetch(options, 'createGuard()')
 * ```
 */
export function configureFetch(options: FetchAdapterOptions, where: string): FetchConfiguration {
  checkAdapterOptions<FetchAdapterOptions>(options, where, EXTRA)
  const { routing } = options
  if (
    routing !== undefined &&
    (typeof routing !== 'object' ||
      routing === null ||
      typeof routing.caseSensitive !== 'boolean' ||
      typeof routing.strictSlash !== 'boolean')
  ) {
    throw new TypeError(
      `${where}: routing must be { caseSensitive: boolean, strictSlash: boolean }, e.g. { caseSensitive: true, strictSlash: false } for new Hono({ strict: false })`,
    )
  }
  booleanOption(options.secureServer, 'secureServer', where, false)
  return {
    ...options,
    secureServer: options.secureServer,
    trust: compileTrustProxy(options.trustProxy, where),
    routing: routing ?? EXACT_ROUTER,
  }
}

/** Options of {@link fetchGuard}: the fetch adapter options without `forwardErrors`. */
export type FetchGuardOptions = Omit<FetchAdapterOptions, 'forwardErrors'>

const kBody = Symbol('apiward.fetch.body')
type Marked = Request & { [kBody]?: { bytes?: Uint8Array; value?: { parsed: unknown } } }

const fetchRequest: FetchReader<Request> = {
  body: (request) => (request as Marked)[kBody]?.value?.parsed,
  setBody: (request, value) => {
    const marked = request as Marked
    marked[kBody] = { ...marked[kBody], value: { parsed: value } }
  },
  bodyRead: (request, bytes) => {
    const marked = request as Marked
    marked[kBody] = { ...marked[kBody], bytes }
  },
}

/** A `Response` of any realm: a runtime may replace the global class (`@hono/node-server` does). */
function isResponse(value: unknown): value is Response {
  const r = value as Partial<Response> | null
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.status === 'number' &&
    typeof r.headers?.get === 'function'
  )
}

const copies = new WeakMap<Request, Request>()

/** Remembers that a handler received `copy` in place of `original` (a body a guard read, handed on). */
export function rememberCopy(copy: Request, original: Request): void {
  copies.set(copy, original)
}

/** The object a request's context is kept on: the holder itself, or the `Request` a fetch handler first got. */
export function fetchHolder(holder: object): object {
  return copies.get(holder as Request) ?? holder
}

/** The body a guard of {@link fetchGuard} parsed and handed on, for the `Request` its handler received. */
export function fetchParsedBody(request: Request): unknown {
  return (fetchHolder(request) as Marked)[kBody]?.value?.parsed
}

/** The context a guard of {@link fetchGuard} made, for the `Request` its handler received. */
export function fetchContextOf(request: Request): SecurityContext | undefined {
  return contextOnHolder(fetchHolder(request))
}

/** The request the handler gets: the original, or a copy with the bytes a guard read. */
function forHandler(request: Request): Request {
  const bytes = (request as Marked)[kBody]?.bytes
  if (bytes === undefined) return request
  const copy = new Request(request, { body: bytes })
  rememberCopy(copy, request)
  return copy
}

/**
 * Wraps a fetch handler `(request, ...rest) => Response` with guards, as an adapter's
 * `guardFetch()`: they run in order before it, the first that denies answers with problem+json,
 * and the handler's `Response` is finished with what guards set (`finishResponse`). A handler
 * that throws or returns no `Response` is a problem+json 500 that reveals nothing. The runtime's
 * second argument is the server's bindings (`FetchRequest`'s `env`).
 */
export function fetchGuard<A extends unknown[]>(
  guards: GuardInput | readonly GuardInput[],
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: FetchGuardOptions,
): (request: Request, ...rest: A) => Promise<Response> {
  if (typeof handler !== 'function') {
    throw new TypeError('guardFetch(guards, handler): handler must be a function (request) => Response')
  }
  if ((options as FetchAdapterOptions).forwardErrors !== undefined) {
    throw new TypeError(
      'guardFetch(): forwardErrors has no meaning around a fetch handler, which has no error handling to forward to; remove it.',
    )
  }
  const config = configureFetch(options, 'guardFetch()')
  const composed = compose(...(Array.isArray(guards) ? guards : [guards as GuardInput]))
  return markGuards(async function apiwardFetch(request: Request, ...rest: A): Promise<Response> {
    const view = new FetchRequest(request, request, fetchRequest, rest[0], config)
    const binding = new FetchBinding(request)
    const ctx = createFetchContext(request, view, binding, config)
    let response: unknown
    try {
      await composed(ctx)
    } catch (err) {
      return finishResponse(ctx, binding, outcomeResponse(ctx, guardFailure(err), config))
    }
    try {
      response = await handler(forHandler(request), ...rest)
    } catch (err) {
      response = outcomeResponse(ctx, guardFailure(err), config)
    }
    const answer = isResponse(response)
      ? response
      : outcomeResponse(ctx, new TypeError('The fetch handler did not return a Response'), config)
    return finishResponse(ctx, binding, answer)
  }, composed)
}

/** Options of {@link requestErrorResponder}. */
export type RequestErrorOptions = Pick<
  AdapterOptions,
  'problemTypeBase' | 'requestIdHeader' | 'onUnexpectedError'
>

const REQUEST_ERROR_OPTIONS: KnownOptions<RequestErrorOptions> = {
  problemTypeBase: true,
  requestIdHeader: true,
  onUnexpectedError: true,
}

/**
 * The answer of a fetch server to what it refuses before the app runs: a `RequestError` (a target
 * it cannot make a URL of, a malformed `Host`) is a 400 problem `request.malformed`, anything else
 * a generic 500 reported to `onUnexpectedError`, each with a fresh request ID.
 */
export function requestErrorResponder(
  options: RequestErrorOptions,
  where: string,
): (err: unknown) => Response {
  checkOptions<RequestErrorOptions>(options, where, REQUEST_ERROR_OPTIONS)
  checkAdapterOptions(options, where)
  const report = options.onUnexpectedError ?? logUnexpectedError
  return function apiwardRequestError(err: unknown): Response {
    const requestId = newRequestId()
    const refused = err instanceof Error && err.name === 'RequestError'
    if (!refused) {
      try {
        report(err, requestId)
      } catch (failure) {
        logUnexpectedError(failure, requestId)
      }
    }
    const error = refused
      ? new BadRequest({ code: 'request.malformed', detail: 'The request is not valid HTTP.', cause: err })
      : new InternalServerError({ cause: err })
    const { status, headers, body } = toProblem(error, { requestId, typeBase: options.problemTypeBase })
    const response = new Response(JSON.stringify(body), { status, headers })
    if (options.requestIdHeader !== false)
      response.headers.set(options.requestIdHeader ?? REQUEST_ID_HEADER, requestId)
    return response
  }
}

// RFC 9110 §4.2.4: user information in a target is an error; @hono/node-server fails to build the
// Request of one (undici refuses credentials in a URL) when its body or signal is first read.
const USERINFO = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*@/i

const CARRIED = ['www-authenticate', 'retry-after', 'allow'] as const

/** A framework's HTTP exception (Hono's `HTTPException`): a status, and the response it would send. */
export interface HttpException {
  readonly status: number
  readonly message: string
  readonly res?: Response | undefined
}

/**
 * A fetch framework's own errors and the server's, by what they mean: a target with user
 * information is a 400 `request.malformed`; of an HTTP exception (`exception`, when `err` is one),
 * a 413 is `request.body_too_large`, a 400 for malformed JSON `request.malformed_body`, any other
 * 4xx keeps its status with a generic problem and only the `WWW-Authenticate`, `Retry-After` and
 * `Allow` of its response (never its body or message); anything else is left as it is.
 */
export function httpExceptionError(
  err: unknown,
  target: string,
  exception: HttpException | undefined,
): unknown {
  if (!ApiError.is(err) && USERINFO.test(target)) {
    return new BadRequest({
      code: 'request.malformed',
      detail: 'The request target carries user information, which HTTP does not allow.',
    })
  }
  if (exception === undefined) return err
  if (exception.status === 413) return new PayloadTooLarge({ cause: err })
  if (exception.status === 400 && /^Malformed JSON/.test(exception.message)) {
    return new BadRequest({
      code: 'request.malformed_body',
      detail: 'The request body could not be parsed.',
      cause: err,
    })
  }
  if (exception.status < 400 || exception.status > 499) return err // an unexpected error, a generic 500
  // Any other 4xx keeps its status with a generic problem, and the challenge of the framework's
  // own auth middleware (Hono's `basicAuth()`, `bearerAuth()` put `WWW-Authenticate` on their response).
  const headers: Record<string, string> = {}
  for (const name of CARRIED) {
    const value = exception.res?.headers.get(name)
    if (value != null) headers[name] = value
  }
  return new ApiError(exception.status, { headers, cause: err })
}

/** The binding of a {@link fetchContextFor} context, kept on its request view. */
function bindingOf(ctx: SecurityContext): FetchBinding {
  return (ctx.req as FetchRequest<unknown>).binding!
}

/**
 * The `SecurityContext` of a framework's request over a WHATWG `Request` (Hono's context),
 * created on first use and kept on `holder`: every guard and the error handling of the request
 * share it. `env` is the server's bindings (`FetchRequest`'s `env`).
 */
export function fetchContextFor<F extends object>(
  holder: F,
  request: Request,
  reader: FetchReader<F>,
  env: unknown,
  config: FetchConfiguration,
): SecurityContext {
  const existing = contextOnHolder(holder)
  if (existing !== undefined) return existing
  const view = new FetchRequest(request, holder, reader, env, config)
  const binding = new FetchBinding(request, holder, reader)
  view.binding = binding
  return createFetchContext(holder, view, binding, config)
}

/**
 * Finishes an answer of the request of a {@link fetchContextFor} context (headers guards set,
 * transformers, `onFinish`), unless the guard that owns the context is still waiting for it
 * ({@link fetchMiddleware}), which finishes it then; `always` finishes it regardless (that guard's own
 * finishing).
 */
export function finishOwned(
  ctx: SecurityContext,
  response: Response,
  always = false,
): Response | Promise<Response> {
  const binding = bindingOf(ctx)
  if (!always && binding.active) return response
  return finishResponse(ctx, binding, response)
}

/** What a fetch framework's middleware tells {@link fetchMiddleware} about its request `F` (Hono's `c`). */
export interface FetchMiddlewareHooks<F> {
  /** The request's context, made on first use with {@link fetchContextFor}. */
  readonly context: (framework: F) => SecurityContext
  /** Hands the handler what the guards established, once they let the request on (Hono: `c.set('auth', ...)`). */
  readonly passed: (framework: F, ctx: SecurityContext) => void
  /** The response the rest of the chain left (Hono: `c.res`). */
  readonly response: (framework: F) => Response
  /** Replaces it with the finished one, or with the answer to what the rest of the chain threw. */
  readonly replace: (framework: F, response: Response) => void
}

/**
 * The middleware of a fetch framework's `guard()` (Hono's `(c, next)`): runs the composed guard
 * on the request's context; the first that denies answers (problem+json, an `answerNow()` answer
 * as it is, finished with the headers guards set), or is thrown to the framework's error handling
 * with `forwardErrors` (never an `answerNow()` answer). Otherwise the request goes on with
 * `next()`, and the guard that made the context finishes the response the rest of the chain left
 * (headers, transformers, `onFinish`), after the framework's error handling answered, or answers
 * what came up to it itself. A guard that completes synchronously goes on synchronously: the only
 * promise hop it adds is the one that waits for `next()`.
 */
export function fetchMiddleware<F extends object>(
  composed: Guard,
  config: FetchConfiguration,
  hooks: FetchMiddlewareHooks<F>,
): (framework: F, next: () => Promise<void>) => Promise<Response | undefined> {
  const forward = config.forwardErrors === true
  const finishChain = (framework: F, ctx: SecurityContext): undefined | Promise<undefined> => {
    const response = hooks.response(framework)
    const finished = finishResponse(ctx, bindingOf(ctx), response)
    if (finished instanceof Promise) return finished.then((done) => replaceWith(framework, response, done))
    return replaceWith(framework, response, finished)
  }
  const replaceWith = (framework: F, response: Response, finished: Response): undefined => {
    if (finished !== response) hooks.replace(framework, finished)
    return undefined
  }
  const done = (framework: F, ctx: SecurityContext): undefined | Promise<undefined> => {
    bindingOf(ctx).active = false
    return finishChain(framework, ctx)
  }
  const failed = (framework: F, ctx: SecurityContext, err: unknown): undefined | Promise<undefined> => {
    bindingOf(ctx).active = false
    // The framework's error handling takes only Errors; anything else thrown comes up to here.
    hooks.replace(framework, outcomeResponse(ctx, guardFailure(err), config))
    return finishChain(framework, ctx)
  }
  const allowed = (
    framework: F,
    next: () => Promise<void>,
    owner: boolean,
    ctx: SecurityContext,
  ): Promise<undefined> => {
    hooks.passed(framework, ctx)
    if (!owner) return next() as Promise<undefined>
    bindingOf(ctx).active = true
    // `then`, not an async function: measured, its two closures cost less than an async call and its await.
    return next().then(
      () => done(framework, ctx),
      (err: unknown) => failed(framework, ctx, err),
    )
  }
  const denied = (
    _framework: F,
    _next: unknown,
    owner: boolean,
    ctx: SecurityContext,
    failure: unknown,
  ): Promise<Response> => {
    if (forward && failure instanceof Error && !Answer.is(failure)) return Promise.reject(failure)
    const answer = outcomeResponse(ctx, failure, config)
    return Promise.resolve(owner ? finishOwned(ctx, answer) : answer)
  }
  return function apiwardGuard(framework: F, next: () => Promise<void>): Promise<Response | undefined> {
    try {
      const owner = contextOnHolder(framework) === undefined
      const ctx = hooks.context(framework)
      // `allowed` and `denied` return promises, so this is one whether the guard was synchronous or not.
      return runGuard<F, () => Promise<void>, boolean, Promise<Response | undefined>>(
        composed,
        ctx,
        framework,
        next,
        owner,
        allowed,
        denied,
      ) as Promise<Response | undefined>
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

/** A value as JSON text, `undefined` for one JSON cannot hold (a `BigInt`, a cycle). */
export function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

const JSON_TYPES = ['+json'] as const

const FORM_TYPES: Readonly<Record<string, 'form'>> = {
  'application/x-www-form-urlencoded': 'form',
  'multipart/form-data': 'form',
}

/**
 * What kind of body a `Content-Type` header announces, as a framework's validator parses it
 * (Hono's `json` and `form` targets): `'json'` for JSON media types (`+json` included), `'form'`
 * for URL-encoded and multipart forms, `undefined` for anything else or no header.
 */
export function bodyKindOf(contentType: string | undefined): 'json' | 'form' | undefined {
  const type = mediaTypeOf(contentType)
  return type === undefined ? undefined : mediaTypeMatches(type, JSON_TYPES) ? 'json' : FORM_TYPES[type]
}

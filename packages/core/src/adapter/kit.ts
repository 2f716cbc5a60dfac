import type { IncomingHttpHeaders } from 'node:http'
import {
  ApiError,
  BadRequest,
  MethodNotAllowed,
  NotFound,
  PayloadTooLarge,
  type RenderedProblem,
  toApiError,
  UnsupportedMediaType,
} from '@apiward/errors'
import { Answer, answerNow } from '../answer.js'
import type { SecurityContext } from '../context.js'
import type { SecurityEventBus } from '../events.js'
import {
  compose,
  describeGuards,
  type Guard,
  type GuardDescription,
  type GuardInput,
  splitByBody,
  toGuardList,
} from '../guard.js'
import { booleanOption, checkOptions, functionOption, type KnownOptions } from '../options.js'
import type { ProxyTrust } from '../request.js'
import { REQUEST_ID_HEADER, requestIdFrom } from '../request-id.js'
import { type BodyFacts, emptyJsonBodyError } from './empty-json-body.js'

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
  /**
   * Hand denials to the framework's error handling (Express `next(err)`, Koa a throw to the
   * upstream middleware, Fastify `done(err)`) instead of answering them at once, so an error
   * handler of your own sees every `ApiError`. Install the adapter's error handling (or render
   * `ApiError`s yourself) so they still become problem+json. Default: `false`, the guard answers
   * denials with problem+json itself, so a route is safe even without an error handler. A
   * guard's `answerNow()` is forwarded the same way.
   */
  forwardErrors?: boolean
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

const ADAPTER_OPTIONS: KnownOptions<AdapterOptions> = {
  events: true,
  problemTypeBase: true,
  onUnexpectedError: true,
  requestIdHeader: true,
  forwardErrors: true,
}

/**
 * Checks the options every adapter accepts and throws a `TypeError` that says what to change (an
 * unknown name with the one meant: `forwardError` -> `forwardErrors`); adapters call it once, when
 * a guard or an error handler is built. `extra` names the options an adapter adds of its own.
 *
 * @example
 * ```ts
 * kit.checkAdapterOptions<PluginOptions>(options, 'apiward plugin', { guards: true })
 * ```
 */
export function checkAdapterOptions<T extends AdapterOptions = AdapterOptions>(
  options: T,
  where: string,
  extra?: KnownOptions<Omit<T, keyof AdapterOptions>>,
): void {
  checkOptions<AdapterOptions>(
    options,
    where,
    extra === undefined ? ADAPTER_OPTIONS : { ...ADAPTER_OPTIONS, ...extra },
  )
  checkAdapterValues(options, where)
}

/** Checks the values of the adapter options that are set, for a caller that checked the names. */
export function checkAdapterValues(options: AdapterOptions, where: string): void {
  const { requestIdHeader, problemTypeBase } = options
  if (
    requestIdHeader !== undefined &&
    requestIdHeader !== false &&
    (typeof requestIdHeader !== 'string' || !HEADER_NAME.test(requestIdHeader))
  ) {
    throw new TypeError(
      `${where}: requestIdHeader must be a header name such as 'X-Request-Id', or false to send none; got ${String(requestIdHeader)}`,
    )
  }
  functionOption(options.onUnexpectedError, 'onUnexpectedError', where, '(err, requestId) => void')
  booleanOption(options.forwardErrors, 'forwardErrors', where, false)
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

/**
 * The framework errors every adapter knows, by body-parser / co-body `type` (Express and Koa), and
 * the kinds an adapter maps its own codes onto (`frameworkErrorToApiError`'s `codes`).
 */
const FRAMEWORK_ERRORS: Record<string, () => ApiError> = {
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
  'body.empty_json': () =>
    new BadRequest({
      code: 'request.malformed_body',
      detail: 'The request body is empty but its type says JSON.',
    }),
  'media.unsupported': () => new UnsupportedMediaType(),
  'request.invalid': () =>
    new BadRequest({ code: 'request.invalid', detail: 'The request failed validation.' }),
  'path.malformed': () =>
    new BadRequest({
      code: 'request.invalid_path',
      detail: 'The request path contains malformed percent-encoding.',
    }),
}

/**
 * Maps an error thrown by a framework or its body parser to a client-safe `ApiError`:
 * malformed JSON is a 400, a body over the limit a 413, an unsupported media type or charset
 * a 415 (body-parser / co-body `type`s and JSON `SyntaxError`s marked 400 are known). `codes`
 * maps an adapter's own error codes onto those kinds (the Fastify adapter maps `FST_ERR_*`).
 * Anything else goes through `toApiError` (4xx by status, otherwise a generic 500).
 */
export function frameworkErrorToApiError(err: unknown, codes?: Readonly<Record<string, string>>): ApiError {
  if (ApiError.is(err)) return err
  if (typeof err === 'object' && err !== null) {
    const { type, code } = err as { type?: unknown; code?: unknown }
    const kind = typeof type === 'string' ? type : typeof code === 'string' ? codes?.[code] : undefined
    const known = kind === undefined ? undefined : FRAMEWORK_ERRORS[kind]
    if (known) return withCause(known(), err)
    // co-body (Koa) and Fastify 4 throw the JSON parser's SyntaxError marked 400, with no type.
    const { status, statusCode } = err as { status?: unknown; statusCode?: unknown }
    if (err instanceof SyntaxError && (status === 400 || statusCode === 400)) {
      return withCause(FRAMEWORK_ERRORS['entity.parse.failed']!(), err)
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
 * Runs the leading guards that only set response headers (`kind: 'headers'`: secure headers,
 * CORS) on a request refused before its guards ran, so the refusal carries their headers as any
 * denial does. What they throw (a preflight's answer) is dropped: the refusal stands.
 */
export function applyHeaderGuards(guard: Guard, ctx: SecurityContext): void {
  for (const part of guard.parts ?? [guard]) {
    if (part.kind !== 'headers') return
    try {
      part(ctx)
    } catch {
      // The request is refused anyway.
    }
  }
}

/** What an adapter does when the guards allowed: `a`, `b`, `c` are its own (request, response, next...). */
export type Allowed<A, B, C, R> = (a: A, b: B, c: C, ctx: SecurityContext) => R
/** What an adapter does when a guard denied, answered now or failed; `failure` is never falsy. */
export type Denied<A, B, C, R> = (a: A, b: B, c: C, ctx: SecurityContext, failure: unknown) => R

/**
 * Runs a guard for an adapter and continues with `allowed` or `denied`, handing them the adapter's
 * own arguments: no closure is made per request, and a synchronous guard continues synchronously
 * without a promise. A failure is never falsy (`guardFailure`), so no `next(err)` or `done(err)`
 * can read it as "go on". A Node request whose type says JSON but whose body is empty is denied
 * first (`emptyJsonBodyError`): body parsers hand it on as `{}`.
 *
 * @example
 * ```ts
 * return runGuard(composed, ctx, req, res, next, allow, deny)
 * ```
 */
export function runGuard<A, B, C, R>(
  guard: Guard,
  ctx: SecurityContext,
  a: A,
  b: B,
  c: C,
  allowed: Allowed<A, B, C, R>,
  denied: Denied<A, B, C, R>,
): R | Promise<R> {
  // After a body parser an empty JSON body reads as `{}`; the guards never see one. A body no
  // parser read is left to the guard that reads it (jsonBody()), in its place after authentication.
  const raw = (ctx.req as { raw?: BodyFacts }).raw
  const malformed = raw === undefined || guard.readsRawBody === true ? undefined : emptyJsonBodyError(raw)
  ctx.startGuards()
  if (malformed !== undefined && ctx.req.body !== undefined) {
    applyHeaderGuards(guard, ctx)
    ctx.endGuards()
    return denied(a, b, c, ctx, malformed)
  }
  let result: void | PromiseLike<void>
  try {
    result = guard(ctx)
  } catch (err) {
    ctx.endGuards()
    return denied(a, b, c, ctx, guardFailure(err))
  }
  if (result === undefined || typeof result.then !== 'function') {
    ctx.endGuards()
    return allowed(a, b, c, ctx)
  }
  return Promise.resolve(result).then(
    () => {
      ctx.endGuards()
      return allowed(a, b, c, ctx)
    },
    (err: unknown) => {
      ctx.endGuards()
      return denied(a, b, c, ctx, guardFailure(err))
    },
  )
}

/**
 * What a response the framework left with a bare error status and no body gets (a Koa
 * `ctx.status = 401`, a router's own 404 or 405): the unmatched-route answer for a 404, a 405
 * with `Allow` (the one the router set, else the methods it knows), otherwise the generic
 * problem of the status.
 */
export function unansweredStatus(
  status: number,
  method: string,
  methods: readonly string[],
  allow: string | undefined,
): ApiError | Answer {
  if (status === 404) return unmatchedRoute(method, methods)
  if (status === 405)
    return new MethodNotAllowed(allowHeaderMethods(allow ? allow.split(/\s*,\s*/) : methods))
  return new ApiError(status)
}

/**
 * Whether a framework would serialise this handler body as JSON: an object or array, not a
 * buffer, a Node or Web stream, a `Blob` or a `Response`. Only such bodies pass through `onSend`
 * transformers.
 */
export function isJsonBody(body: unknown): body is object {
  if (typeof body !== 'object' || body === null || ArrayBuffer.isView(body)) return false
  const b = body as { pipe?: unknown; getReader?: unknown; arrayBuffer?: unknown }
  return (
    typeof b.pipe !== 'function' && typeof b.getReader !== 'function' && typeof b.arrayBuffer !== 'function'
  )
}

/**
 * What a request no route answered gets, from the methods the router knows for its path: 404
 * when it knows none (or knows the request's own method, whose route passed the request on),
 * for an `OPTIONS` request a 204 with `Allow` (`optionsAllowHeader`), otherwise 405 with `Allow`.
 * Adapters gather the methods their router knows and send the result like any guard's throw.
 */
export function unmatchedRoute(method: string, methods: readonly string[]): ApiError | Answer {
  if (methods.length === 0) return new NotFound()
  const allow = allowHeaderMethods(methods)
  if (allow.includes(method)) return new NotFound()
  if (method === 'OPTIONS') return answerNow(204, { headers: { allow: optionsAllowHeader(allow) } })
  return new MethodNotAllowed(allow)
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

/** The two phases of a guard list for a framework that can run guards before the body is read. */
export interface GuardPhases {
  /** The guards before the first that needs the body, composed; `undefined` when none would run then. */
  beforeBody: Guard | undefined
  /** The first guard that needs the body and all after it, composed; `undefined` when none needs it. */
  afterBody: Guard | undefined
}

/**
 * Splits guards at the first one that needs the body (`splitByBody`) and composes each side, for
 * adapters with a hook before the body is parsed (Fastify's `onRequest`) and one after
 * (`preHandler`): an unauthenticated request is refused before its body is read. An empty list
 * still gets a `beforeBody` (it allows), so every request the adapter sees gets its context.
 */
export function guardPhases(guards: readonly GuardInput[], where: string): GuardPhases {
  const { beforeBody, afterBody } = splitByBody(toGuardList(guards, where))
  return {
    beforeBody: beforeBody.length > 0 || afterBody.length === 0 ? compose(...beforeBody) : undefined,
    afterBody: afterBody.length > 0 ? compose(...afterBody) : undefined,
  }
}

const kGuards = Symbol.for('apiward.guards')

/** A route of an app and the guards that protect it, in the order they run. */
export interface RouteEntry {
  readonly method: string
  readonly path: string
  readonly guards: readonly GuardDescription[]
}

/** Marks what an adapter's `guard()` returns (a middleware, a hook) with the guards it runs. */
export function markGuards<T extends object>(target: T, guard: Guard): T {
  Object.defineProperty(target, kGuards, { value: describeGuards(guard) })
  return target
}

/** The guards a marked middleware or hook runs; `undefined` for anything else. */
export function guardsOf(target: unknown): readonly GuardDescription[] | undefined {
  return typeof target === 'function' || (typeof target === 'object' && target !== null)
    ? (target as { [kGuards]?: readonly GuardDescription[] })[kGuards]
    : undefined
}

/** The guards of every marked item of a list (a route's middleware or hooks), in order. */
export function guardsIn(items: readonly unknown[] | undefined): GuardDescription[] {
  const out: GuardDescription[] = []
  for (const item of items ?? []) out.push(...(guardsOf(item) ?? []))
  return out
}

/**
 * Guards mounted on a path prefix rather than on one route (Express `app.use('/admin', guard())`,
 * @koa/router `router.use()`, app-wide guards with `''`).
 */
export interface MountedGuards {
  readonly mount: string
  readonly guards: readonly GuardDescription[]
}

/**
 * The inventory entries of one route, one per method: the mounted guards that cover its path
 * (a mount of `''` or `/` covers every path, a plain prefix its own subtree, a pattern nothing: an
 * inventory must not claim protection it cannot prove), then the route's own.
 */
export function routeEntries(
  methods: Iterable<string>,
  path: string,
  mounted: readonly MountedGuards[],
  own: readonly GuardDescription[],
): RouteEntry[] {
  const covers = ({ mount }: MountedGuards) =>
    mount === '' ||
    mount === '/' ||
    path === mount ||
    path.startsWith(mount.endsWith('/') ? mount : `${mount}/`)
  const guards = [...mounted.filter(covers).flatMap((m) => m.guards), ...own]
  return [...methods].map((method) => ({ method, path, guards }))
}

/**
 * The host a request addressed, as a framework resolves it: the first `X-Forwarded-Host` when the
 * connection comes from a trusted proxy (`trusted`), otherwise `Host` (Express 5's `req.host`
 * rule, for frameworks that give no host with its port).
 */
export function forwardedHost(headers: IncomingHttpHeaders, trusted: boolean): string | undefined {
  const forwarded = headers['x-forwarded-host']
  if (!trusted || typeof forwarded !== 'string' || forwarded === '') return headers.host
  const comma = forwarded.indexOf(',')
  return (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim()
}

const proxyTrusts = new WeakMap<object, ProxyTrust>()

/**
 * An app's trust-proxy setting as {@link proxyTrustOf} reads it: whether it is on, and the
 * framework's compiled trust function `(address, hop) => boolean` (`undefined`: every hop).
 */
export type TrustSetting = readonly [
  enabled: boolean,
  trusts: ((address: string, hop: number) => boolean) | undefined,
]

/**
 * How far an app's trust-proxy setting trusts forwarding headers (see `ProxyTrust`), read once per
 * app with `read` and kept: `'none'` when it is off, `'any'` when the trust function trusts a
 * public address 64 hops away (only a trust-everything setting does), otherwise `'limited'`.
 *
 * @example
 * ```ts
 * const read = (app: Application): kit.TrustSetting => [Boolean(app.get('trust proxy')), app.get('trust proxy fn')]
 * proxyTrust: (req) => kit.proxyTrustOf(req.app, read)
 * ```
 */
export function proxyTrustOf<A extends object>(app: A, read: (app: A) => TrustSetting): ProxyTrust {
  let trust = proxyTrusts.get(app)
  if (trust === undefined) {
    const [enabled, trusts] = read(app)
    trust = !enabled ? 'none' : trusts === undefined || trusts('198.51.100.77', 64) ? 'any' : 'limited'
    proxyTrusts.set(app, trust)
  }
  return trust
}

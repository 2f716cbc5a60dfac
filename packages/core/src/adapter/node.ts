import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { type ResponseBinding, SecurityContext } from '../context.js'
import type { HeaderList, SendHeaders } from '../headers.js'
import type { SecurityRequest } from '../request.js'
import { REQUEST_ID_HEADER } from '../request-id.js'
import type { StateKey } from '../state.js'
import { FrameworkRequest, type RequestReader } from './framework-request.js'
import { type AdapterOptions, incomingRequestId, renderOutcome } from './kit.js'

const kSendHeaders = Symbol('apiward.sendHeaders')

type WriteHead = (this: ServerResponse, ...args: unknown[]) => ServerResponse

/**
 * The response headers at `writeHead`, as `applySendHeaders` sees them: the ones the framework
 * passes to `writeHead` itself (Fastify does), where Node would otherwise let them override, or
 * else the response's own. One object per hooked response, kept on it: no closure per response.
 */
class WriteHeadHeaders implements SendHeaders {
  readonly res: ServerResponse
  ctx: SecurityContext
  readonly writeHead: WriteHead
  own: OutgoingHttpHeaders | undefined = undefined

  constructor(res: ServerResponse, ctx: SecurityContext, writeHead: WriteHead) {
    this.res = res
    this.ctx = ctx
    this.writeHead = writeHead
  }

  getHeader(name: string): unknown {
    const own = this.own
    return own !== undefined && name in own ? own[name] : this.res.getHeader(name)
  }

  // Into the framework's own headers when it passes them: a header set on the response then
  // would make Node set each of those one by one.
  setHeader(name: string, value: string): void {
    const own = this.own
    if (own !== undefined) own[name] = value
    else this.res.setHeader(name, value)
  }

  // Only what is there: deleting a name an object does not hold is still a call into the runtime.
  removeHeader(name: string): void {
    const own = this.own
    if (own !== undefined && name in own) delete own[name]
    if (this.res.hasHeader(name)) this.res.removeHeader(name)
  }
}

type Hooked = ServerResponse & { [kSendHeaders]?: WriteHeadHeaders }

function apiwardWriteHead(this: Hooked, ...args: unknown[]): ServerResponse {
  return applyAndWrite(this, this[kSendHeaders]!, args)
}

/** Applies a context's send headers to what is about to be written, then writes it with the hooked `writeHead`. */
function applyAndWrite(res: ServerResponse, hook: WriteHeadHeaders, args: unknown[]): ServerResponse {
  const passed = (typeof args[1] === 'object' ? args[1] : args[2]) as OutgoingHttpHeaders | undefined
  hook.own = passed !== undefined && passed !== null && !Array.isArray(passed) ? passed : undefined
  hook.ctx.applySendHeaders(hook)
  return hook.writeHead.apply(res, args)
}

/**
 * Hooks a Node response's `writeHead` once, so the list headers and removals a context collected
 * (`appendHeader`, `removeHeader`) are applied when the headers are written, on every answer
 * (handler, error handling, the framework's own). Headers a framework passes to `writeHead`
 * itself (Fastify does) are merged there, where Node would otherwise let them override.
 */
export function hookWriteHead(res: ServerResponse, ctx: SecurityContext): void {
  const hooked = res as Hooked
  const existing = hooked[kSendHeaders]
  if (existing !== undefined && res.writeHead === (apiwardWriteHead as unknown)) {
    existing.ctx = ctx
    return
  }
  hooked[kSendHeaders] = new WriteHeadHeaders(res, ctx, res.writeHead as WriteHead)
  res.writeHead = apiwardWriteHead as ServerResponse['writeHead']
}

/** The hooks of responses whose prototype's `writeHead` is hooked (`hookWriteHeadInPrototype`). */
const prototypeHooks = new WeakMap<ServerResponse, WriteHeadHeaders>()
/** The `writeHead` each hooked prototype had before. */
const prototypeWriteHeads = new WeakMap<object, WriteHead>()

/** The `writeHead` the nearest hooked prototype of `res` replaced. */
function replacedWriteHead(res: object): WriteHead {
  let proto = Object.getPrototypeOf(res) as object | null
  while (proto !== null) {
    const writeHead = prototypeWriteHeads.get(proto)
    if (writeHead !== undefined) return writeHead
    proto = Object.getPrototypeOf(proto) as object | null
  }
  throw new Error('apiward: a hooked writeHead was called on a response without a hooked prototype')
}

function apiwardPrototypeWriteHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
  const hook = prototypeHooks.get(this)
  if (hook === undefined) return replacedWriteHead(this).apply(this, args)
  return applyAndWrite(this, hook, args)
}

/**
 * `hookWriteHead` for a framework that gives each response a new prototype (Express's
 * `app.response`), where a property added to the response costs V8 a new hidden class: the
 * response's hook is kept beside it, and `writeHead` is hooked once, in the farthest prototype of
 * the response that still inherits it (Express's own `response`, which every app's `response`
 * inherits from), so the hook runs whichever app's prototype the response has when it is written
 * (a mounted app gives the parent's back before the parent's error handling answers). A response
 * whose own `writeHead` something already wrapped (on-headers, as compression and morgan use
 * it), or without such a prototype (a plain Node response), is hooked on itself.
 */
export function hookWriteHeadInPrototype(res: ServerResponse, ctx: SecurityContext): void {
  const existing = prototypeHooks.get(res)
  if (existing !== undefined) {
    existing.ctx = ctx
    return
  }
  let farthest: { writeHead: WriteHead } | undefined
  let proto = Object.getPrototypeOf(res) as { writeHead: WriteHead } | null
  while (proto !== null && !Object.hasOwn(proto, 'writeHead')) {
    farthest = proto
    proto = Object.getPrototypeOf(proto) as { writeHead: WriteHead } | null
  }
  const hookedAlready = proto !== null && proto.writeHead === (apiwardPrototypeWriteHead as unknown)
  if (Object.hasOwn(res, 'writeHead') || (farthest === undefined && !hookedAlready)) {
    hookWriteHead(res, ctx)
    return
  }
  if (!hookedAlready) {
    prototypeWriteHeads.set(farthest!, farthest!.writeHead)
    farthest!.writeHead = apiwardPrototypeWriteHead
  }
  prototypeHooks.set(res, new WriteHeadHeaders(res, ctx, replacedWriteHead(res)))
}

/**
 * The response binding of a Node `ServerResponse`: headers set only while they can be, list
 * headers and removals applied through a `writeHead` hook, the end of the response watched with
 * one `close` listener. Adapters whose framework serialises a body before it is written extend it
 * with `interceptSend`; one that serialises after the middleware (Koa) uses it as it is, which
 * also spares a subclass's forwarding constructor on every request.
 */
export class NodeBinding implements ResponseBinding {
  readonly res: ServerResponse
  readonly storesHeaders: boolean
  readonly #prototypeHook: boolean

  /**
   * `storesHeaders`: the framework keeps headers until it writes them (see `ResponseBinding`).
   * `newPrototypes`: the framework gives each response a new prototype (Express), so the
   * `writeHead` hook goes into the prototype (`hookWriteHeadInPrototype`).
   */
  constructor(res: ServerResponse, storesHeaders = false, newPrototypes = false) {
    this.res = res
    this.storesHeaders = storesHeaders
    this.#prototypeHook = newPrototypes
  }

  setHeader(name: string, value: string): void {
    if (!this.res.headersSent) this.put(name, value)
  }

  setHeaders(list: HeaderList): void {
    if (this.res.headersSent) return
    for (let i = 0; i < list.length; i++) {
      const header = list[i]!
      this.put(header[0], header[1])
    }
  }

  /** Sets a header while the headers can still be set; a framework's binding puts it where the framework keeps them. */
  protected put(name: string, value: string): void {
    this.res.setHeader(name, value)
  }

  removeHeader(name: string): void {
    const res = this.res
    if (!res.headersSent && res.hasHeader(name)) res.removeHeader(name)
  }

  hookSendHeaders(ctx: SecurityContext): void {
    if (this.#prototypeHook) hookWriteHeadInPrototype(this.res, ctx)
    else hookWriteHead(this.res, ctx)
  }

  watchFinish(ctx: SecurityContext): void {
    const res = this.res
    // `close` comes once per response, and `finish()` runs once: `on` spares the wrapper `once`
    // builds and the removal after it.
    res.on('close', () => ctx.finish(res.statusCode, !res.writableFinished))
  }

  /** Applies the context's `onSend` transformers to the body the framework sends. Default: nothing (see above). */
  interceptSend(_ctx: SecurityContext): void {}
}

const kContext = Symbol.for('apiward.context')

type Holder = { [kContext]?: SecurityContext }

/** The contexts `WeakContexts` keeps beside their framework's requests, for every adapter that uses it. */
const heldContexts = new WeakMap<object, SecurityContext>()

/** The `SecurityContext` kept in the slot on `holder` only (`createContext`): the adapters' own hot path. */
export function contextOnHolder(holder: object): SecurityContext | undefined {
  return (holder as Holder)[kContext]
}

/**
 * The `SecurityContext` of a framework's request object, kept on it or beside it
 * (`WeakContexts`), `undefined` before a guard or the error handling made one.
 */
export function contextIn(holder: object): SecurityContext | undefined {
  return (holder as Holder)[kContext] ?? heldContexts.get(holder)
}

/**
 * What a guard stored under a typed key in the context of `holder` (see `contextIn`); each
 * adapter's `stateOf()` is this, typed for its framework's request.
 */
export function stateIn<T>(holder: object, key: StateKey<T>): T | undefined {
  return contextIn(holder)?.get(key)
}

/**
 * Creates a request's `SecurityContext` for an adapter and keeps it on `holder` (the framework's
 * request object), so every guard and the error handling of the request share it: the request ID
 * from the incoming header (`requestIdHeader`) or a new one, echoed through the binding unless
 * the option is `false`.
 */
export function createContext(
  holder: object,
  request: SecurityRequest,
  binding: ResponseBinding,
  headers: IncomingHttpHeaders,
  options: AdapterOptions,
): SecurityContext {
  const ctx = newContext(request, binding, headers, options)
  ;(holder as Holder)[kContext] = ctx
  return ctx
}

/**
 * A request's new `SecurityContext`, as `createContext` makes it, for an adapter that keeps it
 * elsewhere than on the framework's request object (`WeakContexts`).
 */
export function newContext(
  request: SecurityRequest,
  binding: ResponseBinding,
  headers: IncomingHttpHeaders,
  options: AdapterOptions,
): SecurityContext {
  const requestId = incomingRequestId(headers, options.requestIdHeader)
  const ctx = new SecurityContext(request, binding, { requestId, events: options.events })
  const echo = options.requestIdHeader
  if (echo !== false) binding.setHeader(echo ?? REQUEST_ID_HEADER, requestId)
  return ctx
}

/**
 * The contexts of a framework whose request objects change shape on every request, kept beside
 * them. Express gives `req` and `res` a new prototype per request (`Object.setPrototypeOf` in
 * `app.handle`), so V8 builds a new hidden class for every property added to them afterwards:
 * one symbol slot on `req` cost about 13k instructions a request, a `WeakMap` entry a few hundred.
 */
export class WeakContexts<F extends object, R> {
  // One map for every adapter, so `contextIn` and `stateIn` find these contexts too.
  readonly #contexts: WeakMap<object, SecurityContext> = heldContexts
  readonly #reader: RequestReader<F>
  readonly #bind: (response: R) => ResponseBinding

  constructor(reader: RequestReader<F>, bind: (response: R) => ResponseBinding) {
    this.#reader = reader
    this.#bind = bind
  }

  /** The context of `holder`, `undefined` before a guard or the error handling made one. */
  get(holder: F): SecurityContext | undefined {
    return this.#contexts.get(holder)
  }

  /** The context of `holder`, created on first use (as `contextFor` does). */
  of(holder: F, raw: IncomingMessage, response: R, options: AdapterOptions): SecurityContext {
    const existing = this.#contexts.get(holder)
    if (existing !== undefined) return existing
    const request = new FrameworkRequest(raw, holder, this.#reader)
    const ctx = newContext(request, this.#bind(response), raw.headers, options)
    this.#contexts.set(holder, ctx)
    return ctx
  }
}

/**
 * The `SecurityContext` kept on a framework's request (`holder`), created on first use: the
 * request view from the adapter's reader, the binding from `bind(response)`. Every guard and the
 * error handling of the request share it.
 *
 * @example
 * ```ts
 * const bind = (res: Response) => new ExpressBinding(res)
 * export const contextOf = (req, res, options) => contextFor(req, req, expressRequest, bind, res, options)
 * ```
 */
export function contextFor<F extends object, R>(
  holder: F,
  raw: IncomingMessage,
  reader: RequestReader<F>,
  bind: (response: R) => ResponseBinding,
  response: R,
  options: AdapterOptions,
): SecurityContext {
  const existing = (holder as Holder)[kContext]
  if (existing !== undefined) return existing
  return createContext(
    holder,
    new FrameworkRequest(raw, holder, reader),
    bind(response),
    raw.headers,
    options,
  )
}

const encoder = new TextEncoder()

/**
 * Answers a Node response that nothing has written yet with what a guard threw (`renderOutcome`:
 * an `answerNow()` answer or a problem document): status, headers, `Content-Length` and the body
 * (none for `HEAD`).
 */
export function writeOutcome(
  res: ServerResponse,
  method: string | undefined,
  ctx: SecurityContext,
  thrown: unknown,
  options: AdapterOptions,
): void {
  const outcome = renderOutcome(ctx, thrown, options)
  res.statusCode = outcome.status
  const headers = outcome.headers
  for (const name in headers) res.setHeader(name, headers[name]!)
  const body = outcome.body
  if (body === undefined) {
    res.end()
    return
  }
  res.setHeader('content-length', encoder.encode(body).length)
  res.end(method === 'HEAD' ? undefined : body)
}

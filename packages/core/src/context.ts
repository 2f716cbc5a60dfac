import { type ApiError, type RenderedProblem, toProblem } from '@apiward/errors'
import {
  RequestCompletedEvent,
  type SecurityEvent,
  type SecurityEventBus,
  type SecurityEventFieldsArg,
  type SecurityEventInput,
  type SecurityEventType,
  securityEvents,
} from './events.js'
import { checkedMember, type HeaderList, headerName, mergeListHeader, type SendHeaders } from './headers.js'
import type { Principal } from './principal.js'
import type { SecurityRequest } from './request.js'
import type { StateKey } from './state.js'

/** How a request ended, as `onFinish` listeners see it. */
export interface RequestOutcome {
  /** The status that was sent (or was about to be sent when the client went away). */
  status: number
  /** `true` when the connection closed before the response was fully written. */
  aborted: boolean
  /** The `ApiError` that was rendered, when the response is an error. */
  error: ApiError | undefined
  /** Milliseconds from the creation of the context to the end of the response. */
  durationMs: number
}

/** What an adapter lends a context to act on its framework's response (the kit's `NodeBinding` for Node). */
export interface ResponseBinding {
  /** Sets a response header now; it stays on success and error responses alike. */
  setHeader(name: string, value: string): void
  /**
   * Sets a list of headers computed at startup (`headerList()`) now, as `setHeader` would one by
   * one. Optional: a binding that has it spares a call per header.
   */
  setHeaders?(list: HeaderList): void
  /**
   * `true` when the framework keeps the headers set now until it writes them, so setting one
   * again only replaces a stored value (Fastify's `reply.header()`): `deferHeader()` then sets at
   * once, since there is nothing to save.
   */
  readonly storesHeaders?: boolean
  /** Removes a response header now (the context removes it once more at send time). */
  removeHeader(name: string): void
  /** Called once, when the first `onSend` transformer is registered, to hook serialisation. */
  interceptSend(ctx: SecurityContext): void
  /** Called once, when the first `onFinish` listener is registered, to watch the response end. */
  watchFinish(ctx: SecurityContext): void
  /**
   * Called once, at the first `appendHeader` or `removeHeader`: the adapter calls
   * `ctx.applySendHeaders()` when the response headers are written (success and error alike).
   */
  hookSendHeaders(ctx: SecurityContext): void
}

/** Options an adapter passes when it creates a context. */
export interface ContextOptions {
  requestId: string
  /** Where `emit()` delivers events. Default: the process-wide `securityEvents`. */
  events?: SecurityEventBus
}

/** A response-body transformer: it sees the body, the context and the status about to be sent. */
export type BodyTransform = (body: unknown, ctx: SecurityContext, status: number) => unknown
type FinishListener = (outcome: RequestOutcome, ctx: SecurityContext) => void

/** State entries kept in a list after the first two; a Map holds any beyond them. */
const STATE_LISTED = 14

/** Replaces the value after `key` in a list of keys and values in turn; `false` when `key` is not in it. */
function replaced(pairs: unknown[], key: unknown, value: unknown): boolean {
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i] === key) {
      pairs[i + 1] = value
      return true
    }
  }
  return false
}

// Read once: on Node the `performance` global is a lazy getter, which every request would pay.
const clock: { now(): number } = globalThis.performance

/**
 * Everything guards share about one request: the request view, the principal once
 * authenticated, the request ID, and the hooks that act on the response. Adapters create one
 * per request, lazily, and hand the same one to every guard on the request's way.
 */
export class SecurityContext {
  /** The request being decided on. */
  readonly req: SecurityRequest
  /** The request's ID, echoed as `X-Request-Id` and in every problem document. */
  readonly requestId: string
  /** Who is calling; set by authentication guards, `undefined` while anonymous. */
  principal: Principal | undefined = undefined
  /** The error response that was rendered, if any. */
  error: ApiError | undefined = undefined
  /** `performance.now()` when the context was created. */
  readonly startedAt: number
  /** Where this context's events go. */
  readonly events: SecurityEventBus

  #binding: ResponseBinding
  #sendTransforms: BodyTransform[] | undefined
  #finishListeners: FinishListener[] | undefined
  #finished = false
  /** Whether `request.completed` was wanted when the context was made: the codes are then kept. */
  #keepsCodes = false
  /** The codes of this request's events, from the first one on. */
  #codes: string[] | undefined
  // The first two state entries live in fields: most requests store one or two (a limiter's
  // record, a principal's token). Further ones go to a flat list of keys and values: a full stack
  // stores five or six, and a Map costs more to make and fill than a scan of a few keys.
  #key0: StateKey<unknown> | symbol | string | undefined
  #value0: unknown
  #key1: StateKey<unknown> | symbol | string | undefined
  #value1: unknown
  #state: unknown[] | undefined
  /** Entries beyond {@link STATE_LISTED}: a request that stores that many is not a usual one. */
  #moreState: Map<StateKey<unknown> | symbol | string, unknown> | undefined
  /** The list headers to merge at send time: lower-case name and its members in turn. */
  #listHeaders: (string | string[])[] | undefined
  #removedHeaders: string[] | undefined
  /** Headers set once the running guards are done (`deferHeader`): name and value in turn. */
  #deferred: string[] | undefined
  /** How many guard runs (`runGuard`) are under way on this request. */
  #guarding = 0
  #sendHeadersHooked = false

  constructor(req: SecurityRequest, binding: ResponseBinding, options: ContextOptions) {
    this.req = req
    this.requestId = options.requestId
    this.events = options.events ?? securityEvents
    this.startedAt = clock.now()
    this.#binding = binding
    if (this.events.listens('request.completed')) {
      this.#keepsCodes = true
      this.onFinish(SecurityContext.#completed)
    }
  }

  /** Emits `request.completed` for a context whose bus wanted it when the context was created. */
  static #completed(outcome: RequestOutcome, ctx: SecurityContext): void {
    let route: string | undefined
    let userAgent: string | undefined
    try {
      route = ctx.req.route
      userAgent = ctx.req.header('user-agent')
    } catch {
      route = undefined
    }
    const { status, aborted } = outcome
    let codes = ctx.#codes
    const code = outcome.error?.code
    if (code !== undefined) {
      if (codes === undefined) codes = [code]
      else if (!codes.includes(code)) codes.push(code)
    }
    const events = ctx.events
    if (!events.hasListeners) return
    const req = ctx.req
    events.emit(
      new RequestCompletedEvent(
        ctx.requestId,
        req.method,
        ctx.#path(),
        req.ip,
        ctx.principal,
        code,
        codes,
        status,
        aborted,
        outcome.durationMs,
        route,
        userAgent,
      ) as unknown as SecurityEventInput,
    )
  }

  /** The request's path for an event: the normalised one, the raw one when it cannot be normalised. */
  #path(): string {
    try {
      return this.req.path
    } catch {
      return this.req.rawPath
    }
  }

  /** Sets a response header; it is sent with the response whether it succeeds or fails. */
  setHeader(name: string, value: string): void {
    this.#binding.setHeader(name, value)
  }

  /**
   * Sets a response header once the guards running now are done, allowed or denied (adapters run
   * them through `runGuard`); a later call for the same name replaces the value. Guards that each
   * update one header on a request (the rate limiters' `RateLimit`) then cost Node one header.
   * Outside a guard run, and on a binding that `storesHeaders`, it is `setHeader`.
   */
  deferHeader(name: string, value: string): void {
    if (this.#guarding === 0 || this.#binding.storesHeaders === true) {
      this.#binding.setHeader(name, value)
      return
    }
    const deferred = this.#deferred
    if (deferred === undefined) this.#deferred = [name, value]
    else if (!replaced(deferred, name, value)) deferred.push(name, value)
  }

  /** Marks the start of a guard run; adapters do it through `runGuard`. */
  startGuards(): void {
    this.#guarding++
  }

  /** Marks the end of a guard run: the deferred headers are set (`deferHeader`). */
  endGuards(): void {
    if (this.#guarding > 0) this.#guarding--
    const deferred = this.#deferred
    if (deferred === undefined) return
    this.#deferred = undefined
    const binding = this.#binding
    for (let i = 0; i < deferred.length; i += 2) binding.setHeader(deferred[i]!, deferred[i + 1]!)
  }

  /**
   * Sets a list of headers computed once at startup (`headerList()`): one call, no per-header
   * work beyond Node's own `setHeader`.
   */
  setHeaders(list: HeaderList): void {
    const binding = this.#binding
    if (binding.setHeaders !== undefined) {
      binding.setHeaders(list)
      return
    }
    for (let i = 0; i < list.length; i++) {
      const header = list[i]!
      binding.setHeader(header[0], header[1])
    }
  }

  /**
   * Adds a member to a list header (`Vary`, `Link`, `Access-Control-Expose-Headers`). It is merged
   * when the response headers are written, with whatever the framework or the handler set
   * meanwhile, and never repeated: a handler's own `res.setHeader('Vary', 'Accept')` keeps a
   * guard's `Origin`.
   */
  appendHeader(name: string, value: string): void {
    const key = headerName(name)
    if (!checkedMember(key, value)) return
    const lists = this.#listHeaders
    if (lists === undefined) {
      this.#listHeaders = [key, [value]]
      this.#hookSendHeaders()
      return
    }
    for (let i = 0; i < lists.length; i += 2) {
      if (lists[i] === key) {
        ;(lists[i + 1] as string[]).push(value)
        return
      }
    }
    lists.push(key, [value])
  }

  /**
   * Removes a response header now and once more when the headers are written, so one set later
   * by the framework or the handler (`X-Powered-By`) does not go out either.
   */
  removeHeader(name: string): void {
    const key = headerName(name)
    const lists = this.#listHeaders
    if (lists !== undefined) {
      for (let i = 0; i < lists.length; i += 2) {
        if (lists[i] === key) {
          lists.splice(i, 2)
          break
        }
      }
    }
    if (this.#removedHeaders === undefined) {
      this.#removedHeaders = [key]
      this.#hookSendHeaders()
    } else if (!this.#removedHeaders.includes(key)) this.#removedHeaders.push(key)
    this.#binding.removeHeader(key)
  }

  /**
   * Applies the list headers and removals collected by `appendHeader` / `removeHeader` to the
   * response headers about to be written; adapters call it once, from their send hook.
   */
  applySendHeaders(headers: SendHeaders): void {
    const removed = this.#removedHeaders
    if (removed !== undefined) for (const name of removed) headers.removeHeader(name)
    const lists = this.#listHeaders
    if (lists === undefined) return
    for (let i = 0; i < lists.length; i += 2) {
      const name = lists[i] as string
      headers.setHeader(name, mergeListHeader(headers.getHeader(name), lists[i + 1] as string[]))
    }
  }

  #hookSendHeaders(): void {
    if (this.#sendHeadersHooked) return
    this.#sendHeadersHooked = true
    this.#binding.hookSendHeaders(this)
  }

  /**
   * Registers a transformer of the response body, applied in registration order when the
   * handler's JSON body is serialised (e.g. removing properties the caller may not see). It
   * receives the status too: a filter meant for a 200 leaves a 404's body alone. Problem
   * documents of denials and errors never pass through transformers.
   */
  onSend(transform: BodyTransform): void {
    if (this.#sendTransforms === undefined) {
      this.#sendTransforms = [transform]
      this.#binding.interceptSend(this)
    } else this.#sendTransforms.push(transform)
  }

  /** Whether any `onSend` transformer is registered. */
  get hasSendTransforms(): boolean {
    return this.#sendTransforms !== undefined
  }

  /**
   * Applies the `onSend` transformers in the order they were registered (the order of the guards
   * that registered them), each on the previous one's result, with the status about to be sent;
   * adapters call it from their serialisation hook.
   */
  transformBody(body: unknown, status: number): unknown {
    const transforms = this.#sendTransforms
    if (transforms === undefined) return body
    let out = body
    for (const transform of transforms) out = transform(out, this, status)
    return out
  }

  /** Registers a listener called exactly once when the response ends or the client aborts. */
  onFinish(listener: FinishListener): void {
    if (this.#finishListeners === undefined) {
      this.#finishListeners = [listener]
      this.#binding.watchFinish(this)
    } else this.#finishListeners.push(listener)
  }

  /** Ends the request: calls every `onFinish` listener once. Later calls do nothing. */
  finish(status: number, aborted: boolean): void {
    if (this.#finished) return
    this.#finished = true
    const listeners = this.#finishListeners
    if (listeners === undefined) return
    const outcome: RequestOutcome = {
      status,
      aborted,
      error: this.error,
      durationMs: clock.now() - this.startedAt,
    }
    for (const listener of listeners) {
      try {
        listener(outcome, this)
      } catch (err) {
        this.emit('server.listener_error', {
          severity: 'error',
          detail: err instanceof Error ? err.message : String(err),
        })
      }
    }
  }

  /**
   * Reads the raw request body as bytes, at most `limit` of them, streamed: a declared length over
   * the limit is refused before a byte is read and a body that grows past it at that byte (413
   * `request.body_too_large`, the connection closed after the answer); a body that stops early
   * is a 400. Read once: later calls get the same bytes. The guard that reads it must run before
   * any other body parser (Express `express.json()`, Koa `bodyParser()`; on Fastify the plugin
   * hands the bytes on to Fastify's own parser, then puts back what `setBody` set). Declare such
   * a guard with `readsRawBody: true`.
   */
  readBody(limit: number): Promise<Uint8Array> {
    if (!Number.isInteger(limit) || limit < 0) {
      return Promise.reject(
        new TypeError(`readBody(limit): limit must be a number of bytes, got ${String(limit)}`),
      )
    }
    const read = this.req.readBody
    if (typeof read !== 'function')
      return Promise.reject(new TypeError('readBody(): this request has no body seam'))
    return read.call(this.req, limit)
  }

  /** Hands the handler the body a guard parsed: the framework's own body property is set to it. */
  setBody(value: unknown): void {
    const set = this.req.setBody
    if (typeof set !== 'function') throw new TypeError('setBody(): this request has no body seam')
    set.call(this.req, value)
  }

  /** Per-request state under a typed key (`createKey<T>()`), `undefined` until a guard set it. */
  get<T>(key: StateKey<T>): T | undefined
  /** Per-request state under an untyped key the caller owns. */
  get<T>(key: symbol | string): T | undefined
  get<T>(key: StateKey<T> | symbol | string): T | undefined {
    if (key === this.#key0) return this.#value0 as T
    if (key === this.#key1) return this.#value1 as T
    const state = this.#state
    if (state === undefined) return undefined
    for (let i = 0; i < state.length; i += 2) if (state[i] === key) return state[i + 1] as T
    return this.#moreState?.get(key) as T | undefined
  }

  /** Stores per-request state under a typed key; handlers read it through their adapter's `stateOf()`. */
  set<T>(key: StateKey<T>, value: T): void
  /** Stores per-request state under an untyped key the caller owns. */
  set(key: symbol | string, value: unknown): void
  set(key: StateKey<unknown> | symbol | string, value: unknown): void {
    if (key === this.#key0 || this.#key0 === undefined) {
      this.#key0 = key
      this.#value0 = value
    } else if (key === this.#key1 || this.#key1 === undefined) {
      this.#key1 = key
      this.#value1 = value
    } else {
      const state = this.#state
      if (state === undefined) this.#state = [key, value]
      else if (replaced(state, key, value)) return
      else if (state.length < STATE_LISTED * 2) state.push(key, value)
      else {
        this.#moreState ??= new Map()
        this.#moreState.set(key, value)
      }
    }
  }

  /**
   * Emits a security event enriched with the request's ID, method, path, IP and principal.
   * `type` is a declared event type (`SecurityEventMap`) and `fields` are its fields. Costs
   * nothing when no one listens.
   *
   * @example
   * ```ts
   * ctx.emit('auth.failure', { severity: 'warn', code: 'auth.invalid_token', credential: 'jwt', reason })
   * ```
   */
  emit<K extends SecurityEventType>(type: K, ...fields: SecurityEventFieldsArg<K>): void
  emit(type: SecurityEventType, fields?: Partial<SecurityEvent>): void {
    const events = this.events
    if (!events.hasListeners) return
    const code = fields?.code
    if (this.#keepsCodes && typeof code === 'string') {
      const codes = this.#codes
      if (codes === undefined) this.#codes = [code]
      else if (!codes.includes(code)) codes.push(code)
    }
    const event = {
      type,
      time: Date.now(),
      severity: 'info',
      requestId: this.requestId,
      method: this.req.method,
      path: this.#path(),
      ip: this.req.ip,
      principal: this.principal?.id,
      ...fields,
    } as SecurityEventInput
    events.emit(event)
  }

  /**
   * Renders an error as problem+json for this request and remembers it as the outcome's error.
   * Every 5xx answer emits `server.error` with the original error (an unexpected one, which the
   * client only sees as a generic 500, or an `ApiError` such as a store outage's 503).
   */
  renderError(err: unknown, typeBase?: string): RenderedProblem {
    const rendered = toProblem(err, { requestId: this.requestId, typeBase })
    this.error = rendered.error
    if (rendered.status >= 500) {
      this.emit('server.error', {
        severity: 'error',
        code: rendered.error.code,
        error: rendered.error.cause ?? err,
      })
    }
    return rendered
  }
}

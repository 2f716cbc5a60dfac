import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { ApiError, BadRequest, PayloadTooLarge } from '@apiward/errors'
import type { ResponseBinding, SecurityContext } from '../context.js'
import { type HeaderList, headerName, type SendHeaders } from '../headers.js'
import { clientAddress } from '../ip.js'
import { mediaTypeMatches, mediaTypeOf } from '../media-type.js'
import { tlsInfo } from '../node/tls.js'
import { absoluteFormHost, normalizePath, originForm, type RoutingPolicy, routerPath } from '../path.js'
import type { ProxyTrust, SecurityRequest, TlsInfo } from '../request.js'
import { REQUEST_ID_HEADER } from '../request-id.js'
import { type AdapterOptions, renderOutcome } from './kit.js'
import { createContext } from './node.js'
import { firstListValue, forwardedClientIp, proxyTrustOfFn, type TrustFn } from './trust-proxy.js'

/**
 * What an adapter over WHATWG `Request`s (Hono, a bare fetch handler) tells the kit about its
 * framework's request `F`; everything else (path, headers, media type, client address behind
 * `trustProxy`, the server's socket facts) the kit reads from the `Request` and the server's
 * bindings.
 */
export interface FetchReader<F> {
  /** The parsed query. Default: the URL's, one value as a string and a repeated one as an array. */
  readonly query?: (request: F) => Readonly<Record<string, unknown>> | undefined
  /** Route parameters, as the router decoded them. Default: none. */
  readonly params?: (request: F) => Readonly<Record<string, string>> | undefined
  /** The parsed body, `undefined` before anything parsed it. */
  readonly body?: (request: F) => unknown
  /** The route pattern (`/notes/:id`) when the router matched one. */
  readonly route?: (request: F) => string | undefined
  /** Hands the handler the body a guard parsed. */
  readonly setBody: (request: F, value: unknown) => void
  /** Called once the raw body was read, so the handler can still read it. */
  readonly bodyRead?: (request: F, body: Uint8Array) => void
  /**
   * Sets (a string) or removes (`undefined`) a response header through the framework's own call
   * (Hono's `c.header()`), so the response the handler builds through the framework carries the
   * headers guards set as the framework's own, with no second pass when it is finished. Default:
   * the headers are only added when the response is finished.
   */
  readonly setHeader?: (request: F, name: string, value: string | undefined) => void
  /**
   * The `Headers` object the framework builds the handler's response on, once `setHeader` put a
   * header there (Hono's prepared headers), `undefined` when it cannot say: a response that
   * carries this very object has every header guards set (and what the handler did with them
   * after), so finishing it adds none. Any other response gets them when it is finished.
   */
  readonly ownHeaders?: (request: F) => Headers | undefined
}

/**
 * What a fetch view needs of the server besides the `Request` and its bindings: the trust in
 * proxies, the routing policy, TLS (the same for every request: an adapter's compiled options).
 */
export interface FetchServerFacts {
  readonly trust: TrustFn
  readonly routing: RoutingPolicy
  /**
   * Whether the server itself serves TLS, where the runtime does not say so reliably (Deno builds
   * the URL of an absolute-form target from what the client wrote, `https://` on a plain
   * connection included). `undefined`: the connection decides on Node, the URL's scheme on
   * runtimes that build it from their listener (Bun), plain HTTP on Deno.
   */
  readonly secureServer?: boolean | undefined
}

/** Deno takes the scheme of an absolute-form target into the Request's URL as the client wrote it. */
const URL_SCHEME_FROM_CLIENT = typeof (globalThis as { Deno?: unknown }).Deno === 'object'

interface NodeEnv {
  incoming?: Pick<IncomingMessage, 'url' | 'headers' | 'rawHeaders' | 'socket'>
  outgoing?: NodeOutgoing
}

/** What the abort watch reads of the Node response behind a Request served by `@hono/node-server`. */
interface NodeOutgoing {
  on(event: 'close', listener: () => void): unknown
  readonly writableFinished: boolean
}

/** The Node response of a Request served by `@hono/node-server`, when there is one. */
function outgoingOf(env: unknown): NodeOutgoing | undefined {
  const outgoing = typeof env === 'object' && env !== null ? (env as NodeEnv).outgoing : undefined
  return typeof outgoing === 'object' && outgoing !== null && typeof outgoing.on === 'function'
    ? outgoing
    : undefined
}
interface DenoEnv {
  remoteAddr?: { hostname?: unknown }
}
interface BunEnv {
  requestIP?: (request: Request) => { address?: unknown } | null
}

/** The Node request behind a Request served by `@hono/node-server`, when there is one. */
function incomingOf(env: unknown): NodeEnv['incoming'] | undefined {
  const incoming = typeof env === 'object' && env !== null ? (env as NodeEnv).incoming : undefined
  return typeof incoming === 'object' && incoming !== null && Array.isArray(incoming.rawHeaders)
    ? incoming
    : undefined
}

/**
 * The peer address of the connection a Request came on, from the runtime's bindings: Node
 * (`@hono/node-server`'s `incoming.socket.remoteAddress`), Deno (`info.remoteAddr.hostname`), Bun
 * (`server.requestIP(request).address`). `undefined` where the runtime gives none.
 */
export function socketAddress(env: unknown, request: Request): string | undefined {
  if (typeof env !== 'object' || env === null) return undefined
  const incoming = incomingOf(env)
  if (incoming !== undefined) return incoming.socket?.remoteAddress ?? undefined
  const deno = (env as DenoEnv).remoteAddr?.hostname
  if (typeof deno === 'string') return deno
  const requestIP = (env as BunEnv).requestIP
  if (typeof requestIP === 'function') {
    const address = requestIP.call(env, request)?.address
    return typeof address === 'string' ? address : undefined
  }
  return undefined
}

const EMPTY: Readonly<Record<string, never>> = Object.freeze({})

/** Every parameter of a query string: one value as a string, a repeated one as an array. */
function queryOf(search: string): Readonly<Record<string, unknown>> {
  if (search.length <= 1) return EMPTY
  const out: Record<string, string | string[]> = Object.create(null)
  for (const [name, value] of new URLSearchParams(search)) {
    const seen = out[name]
    if (seen === undefined) out[name] = value
    else if (Array.isArray(seen)) seen.push(value)
    else out[name] = [seen, value]
  }
  return out
}

/**
 * The `SecurityRequest` of a WHATWG `Request` (Hono's `c.req.raw`, a fetch handler's argument).
 * Where `@hono/node-server` serves it, the request target, every occurrence of a header and the
 * TLS peer come from the Node request as on the other adapters; on other runtimes the target is
 * the path and query of the URL the runtime built, and a repeated header is one value joined with
 * `, ` (WHATWG `Headers`), so `headerValues()` returns one element for it.
 */
export class FetchRequest<F> implements SecurityRequest {
  /** The WHATWG request. */
  readonly request: Request
  /** The framework's own request object (Hono's `Context`, or the `Request` itself). */
  readonly framework: F
  /** The Node request behind it where `@hono/node-server` serves it, `undefined` elsewhere. */
  readonly incoming: NodeEnv['incoming'] | undefined
  /** The Node response beside `incoming` (`@hono/node-server`'s `env.outgoing`). */
  readonly outgoing: NodeOutgoing | undefined
  /** The response binding of the request's context, where the kit keeps it (`fetchContextFor`). */
  binding: FetchBinding | undefined = undefined
  readonly #reader: FetchReader<F>
  readonly #facts: FetchServerFacts
  /**
   * The runtime's second argument to the fetch handler: `@hono/node-server`'s `{ incoming }`,
   * Deno's `ServeHandlerInfo` (`remoteAddr`), Bun's `Server` (`requestIP()`); anything else
   * gives no socket facts.
   */
  readonly #env: unknown
  #url: URL | undefined
  #target: string | undefined
  #path: string | undefined
  #matchPath: string | undefined
  #ip: string | undefined | null = null
  #body: Promise<Uint8Array> | undefined

  constructor(request: Request, framework: F, reader: FetchReader<F>, env: unknown, facts: FetchServerFacts) {
    this.request = request
    this.framework = framework
    this.incoming = incomingOf(env)
    this.outgoing = this.incoming === undefined ? undefined : outgoingOf(env)
    this.#reader = reader
    this.#facts = facts
    this.#env = env
  }

  get #parsed(): URL {
    this.#url ??= new URL(this.request.url)
    return this.#url
  }

  /** The request target: as the client sent it on Node, the URL's path and query elsewhere. */
  get target(): string {
    if (this.#target === undefined) {
      const raw = this.incoming?.url
      this.#target = typeof raw === 'string' && raw !== '' ? raw : this.#parsed.pathname + this.#parsed.search
    }
    return this.#target
  }

  get method(): string {
    return this.request.method.toUpperCase()
  }

  get rawPath(): string {
    const url = originForm(this.target)
    const q = url.indexOf('?')
    return q === -1 ? url : url.slice(0, q)
  }

  get path(): string {
    this.#path ??= normalizePath(this.target)
    return this.#path
  }

  get matchPath(): string {
    this.#matchPath ??= routerPath(this.path, this.rawPath, this.routing)
    return this.#matchPath
  }

  get routing(): RoutingPolicy {
    return this.#facts.routing
  }

  get route(): string | undefined {
    return this.#reader.route?.(this.framework)
  }

  /** Whether the peer (hop 0) is a trusted proxy, whose forwarding headers count. */
  get #peerTrusted(): boolean {
    const trust = this.#facts.trust
    if (trust === undefined) return false
    const peer = this.#peer
    return peer !== undefined && trust(peer, 0)
  }

  get protocol(): 'http' | 'https' {
    if (this.#peerTrusted) {
      const forwarded = firstListValue(this.header('x-forwarded-proto'))
      if (forwarded !== undefined) return forwarded.toLowerCase() === 'https' ? 'https' : 'http'
    }
    const incoming = this.incoming
    // The connection decides: an absolute-form `https://` target on a plain connection names a
    // scheme the client merely wrote, which Deno (not Node, not Bun) puts into the URL.
    if (incoming !== undefined)
      return (incoming.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http'
    const declared = this.#facts.secureServer
    if (declared !== undefined) return declared ? 'https' : 'http'
    if (URL_SCHEME_FROM_CLIENT) return 'http'
    return this.#parsed.protocol === 'https:' ? 'https' : 'http'
  }

  get secure(): boolean {
    return this.protocol === 'https'
  }

  get host(): string | undefined {
    const host =
      absoluteFormHost(this.target) ??
      (this.#peerTrusted ? firstListValue(this.header('x-forwarded-host')) : undefined) ??
      this.header('host') ??
      this.#parsed.host
    return host === undefined || host === '' ? undefined : host.toLowerCase()
  }

  /** The socket's peer address, from the Node request where there is one (no second look at `env`). */
  get #peer(): string | undefined {
    const incoming = this.incoming
    return incoming !== undefined
      ? (incoming.socket?.remoteAddress ?? undefined)
      : socketAddress(this.#env, this.request)
  }

  get ip(): string | undefined {
    if (this.#ip === null) {
      const trust = this.#facts.trust
      // `X-Forwarded-For` counts only from a trusted proxy: without one it is not even read.
      const forwarded = trust === undefined ? undefined : this.header('x-forwarded-for')
      const ip = forwardedClientIp(this.#peer, forwarded, trust)
      this.#ip = ip === undefined ? undefined : clientAddress(ip)
    }
    return this.#ip
  }

  get peerAddress(): string | undefined {
    const peer = this.#peer
    return peer === undefined ? undefined : clientAddress(peer)
  }

  get proxyTrust(): ProxyTrust {
    return proxyTrustOfFn(this.#facts.trust)
  }

  get contentType(): string | undefined {
    return mediaTypeOf(this.header('content-type'))
  }

  is(...types: string[]): boolean {
    return mediaTypeMatches(this.contentType, types)
  }

  get query(): Readonly<Record<string, unknown>> {
    return this.#reader.query?.(this.framework) ?? queryOf(this.#parsed.search)
  }

  get params(): Readonly<Record<string, string>> {
    return this.#reader.params?.(this.framework) ?? EMPTY
  }

  get body(): unknown {
    return this.#reader.body?.(this.framework)
  }

  /** TLS peer information where the server exposes the socket (`@hono/node-server` over `https`). */
  get tls(): TlsInfo | undefined {
    return tlsInfo(this.incoming?.socket)
  }

  header(name: string): string | undefined {
    return this.request.headers.get(name) ?? undefined
  }

  headerValues(name: string): readonly string[] | undefined {
    const incoming = this.incoming
    if (incoming === undefined) {
      const value = this.request.headers.get(name)
      return value === null ? undefined : [value]
    }
    const raw = incoming.rawHeaders
    let found: string[] | undefined
    for (let i = 0; i < raw.length; i += 2) {
      const header = raw[i]!
      if (header.length !== name.length || header.toLowerCase() !== name) continue
      if (found === undefined) found = [raw[i + 1]!]
      else found.push(raw[i + 1]!)
    }
    return found
  }

  readBody(limit: number): Promise<Uint8Array> {
    if (this.#body === undefined) {
      const reader = this.#reader
      this.#body = readWebBody(this.request, limit).then((body) => {
        reader.bodyRead?.(this.framework, body)
        return body
      })
    }
    return this.#body
  }

  setBody(value: unknown): void {
    this.#reader.setBody(this.framework, value)
  }
}

const tooLarge = (limit: number) =>
  new PayloadTooLarge({
    detail: `The request body is over the limit of ${limit} bytes.`,
    headers: { Connection: 'close' },
  })

/**
 * Reads the body of a WHATWG `Request` as bytes, at most `limit` of them: a declared
 * `Content-Length` over the limit is refused before a byte is read, a body that grows past it at
 * that chunk (the stream is cancelled). 413 `request.body_too_large` either way; a stream that
 * fails is a 400 `request.aborted`. A body already read is a `TypeError` naming the fix.
 */
export async function readWebBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  if (request.bodyUsed || request.body?.locked === true) {
    throw new TypeError(
      'The request body was already read; run the guard that reads the raw body before anything that parses it.',
    )
  }
  const stream = request.body
  if (stream === null) return new Uint8Array(0)
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.length
      if (size > limit) {
        reader.cancel().catch(() => {})
        throw tooLarge(limit)
      }
      chunks.push(value)
    }
  } catch (cause) {
    if (ApiError.is(cause)) throw cause
    throw new BadRequest({
      code: 'request.aborted',
      detail: 'The request body was not received completely.',
      cause,
    })
  } finally {
    reader.releaseLock()
  }
  const body = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    body.set(chunk, at)
    at += chunk.length
  }
  return body
}

// Shared by every binding until its first header: never written to (`setHeader` replaces it).
const EMPTY_LIST: string[] = []

/**
 * The response binding of a fetch handler: headers guards set are collected and applied to the
 * `Response` the handler returns (`finishResponse`), where a header the handler set itself wins;
 * with a reader that has `setHeader` they also go through the framework's own call at once. The
 * end of the response is the moment it is handed back, or the request's `signal` aborting (the
 * client went away) before that.
 */
export class FetchBinding implements ResponseBinding {
  #headers: string[] = EMPTY_LIST
  /**
   * The framework's `Headers` the guards' headers went to (`FetchReader.ownHeaders`): a response
   * that carries this object already has them.
   */
  ownHeaders: Headers | undefined = undefined
  /** Whether a list header or a removal waits for `ctx.applySendHeaders()` at finishing. */
  sendHooked = false
  /** Whether the guard that made the context waits for the rest of the chain, and finishes its answer then. */
  active = false
  /** The Node response behind the request (`@hono/node-server`'s `env.outgoing`), set before the context is made. */
  outgoing: NodeOutgoing | undefined = undefined
  readonly #request: Request
  readonly #framework: unknown
  // `never`: any framework's reader, only ever called with the framework request it came with.
  readonly #set: FetchReader<never>['setHeader']
  readonly #own: FetchReader<never>['ownHeaders']

  constructor(request: Request, framework?: unknown, reader?: FetchReader<never>) {
    this.#request = request
    this.#framework = framework
    this.#set = reader?.setHeader
    this.#own = reader?.ownHeaders
  }

  /**
   * The headers guards set, as lower-case name and value in turn (`[name, value, name, value]`):
   * fewer instructions to make, fill and walk for the few a request has than a `Map`, let alone a
   * WHATWG `Headers`.
   */
  get headers(): readonly string[] {
    return this.#headers
  }

  setHeader(name: string, value: string): void {
    this.#put(headerName(name), value)
  }

  #put(key: string, value: string): void {
    const headers = this.#headers
    if (headers.length === 0) this.#headers = [key, value]
    else {
      let i = 0
      while (i < headers.length && headers[i] !== key) i += 2
      headers[i] = key
      headers[i + 1] = value
    }
    const set = this.#set
    if (set === undefined) return
    set(this.#framework as never, key, value)
    if (this.ownHeaders === undefined && this.#own !== undefined)
      this.ownHeaders = this.#own(this.#framework as never)
  }

  /** A startup-built list: its names are lower case already. */
  setHeaders(list: HeaderList): void {
    for (let i = 0; i < list.length; i++) {
      const header = list[i]!
      this.#put(header[0], header[1])
    }
  }

  /**
   * Takes back a header a guard set. One set by anything else (the framework, a middleware, the
   * handler) is removed from the finished response, where the context's removals are applied
   * (`hookSendHeaders`): removing it from the framework's headers now as well would cost a second
   * WHATWG `Headers` call, which validates the name, on every request.
   */
  removeHeader(name: string): void {
    const key = headerName(name)
    const headers = this.#headers
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === key) {
        headers.splice(i, 2)
        this.#set?.(this.#framework as never, key, undefined)
        return
      }
    }
  }

  /** Transformers run in `finishResponse`, which knows when the handler's body is JSON. */
  interceptSend(): void {}

  /** List headers and removals are applied in `finishResponse`. */
  hookSendHeaders(): void {
    this.sendHooked = true
  }

  watchFinish(ctx: SecurityContext): void {
    // On @hono/node-server the Node response tells of a client gone before the answer was
    // written, as on the Node adapters: its lightweight request would build a whole Request for
    // its signal, some 15k instructions a request.
    const outgoing = this.outgoing
    if (outgoing !== undefined) {
      outgoing.on('close', () => {
        if (!outgoing.writableFinished) ctx.finish(0, true)
      })
      return
    }
    // Read only here: a server's lightweight request makes its signal on first use.
    const signal = this.#request.signal
    if (signal.aborted) ctx.finish(0, true)
    else signal.addEventListener('abort', () => ctx.finish(0, true), { once: true })
  }
}

type Holder = object

/**
 * Creates the `SecurityContext` of a WHATWG request for an adapter and keeps it on `holder` (as
 * `createContext` does), with the request ID from the header `requestIdHeader` names.
 */
export function createFetchContext<F>(
  holder: Holder,
  view: FetchRequest<F>,
  binding: FetchBinding,
  options: AdapterOptions,
): SecurityContext {
  // Served by @hono/node-server: the Node request's headers, as the Node adapters read them (a
  // repeated header joined with `, `, which is no well-formed ID), without a WHATWG `Headers`.
  const incoming = view.incoming
  binding.outgoing = view.outgoing
  if (incoming !== undefined) return createContext(holder, view, binding, incoming.headers, options)
  const name =
    typeof options.requestIdHeader === 'string' ? options.requestIdHeader.toLowerCase() : REQUEST_ID_HEADER
  const value = view.request.headers.get(name)
  return createContext(holder, view, binding, { [name]: value ?? undefined }, options)
}

const JSON_TYPES = ['+json'] as const

/** Whether a response body is JSON a transformer may see (never a problem document). */
function isTransformable(response: Response): boolean {
  if (response.body === null) return false
  const type = mediaTypeOf(response.headers.get('content-type') ?? undefined)
  return type !== 'application/problem+json' && mediaTypeMatches(type, JSON_TYPES)
}

/**
 * A `Headers` object as `applySendHeaders` sees it. One for the process, pointed at the headers
 * of the response being finished: the application is synchronous, and a view per response would
 * cost an object and three closures on every request with a removal or a list header.
 */
class SendHeadersView implements SendHeaders {
  headers: Headers | undefined = undefined

  getHeader(name: string): unknown {
    return this.headers!.get(name) ?? undefined
  }

  setHeader(name: string, value: string): void {
    this.headers!.set(name, value)
  }

  removeHeader(name: string): void {
    this.headers!.delete(name)
  }
}

const sendView = new SendHeadersView()

function applyHeaders(ctx: SecurityContext, binding: FetchBinding, headers: Headers): void {
  // A response built on the framework's headers has them already, with the handler's changes.
  if (headers !== binding.ownHeaders) {
    const own = binding.headers
    for (let i = 0; i < own.length; i += 2) if (!headers.has(own[i]!)) headers.set(own[i]!, own[i + 1]!)
  }
  if (!binding.sendHooked) return
  sendView.headers = headers
  try {
    ctx.applySendHeaders(sendView)
  } finally {
    sendView.headers = undefined
  }
}

/**
 * Finishes the response of a request a context watched: `onSend` transformers on a JSON body
 * (parsed back, transformed with the status, serialised again), the headers guards set (the
 * handler's own win), list headers merged and removals applied, then `onFinish` with the status.
 * A response whose headers cannot change (one `fetch()` returned) is copied first. Synchronous
 * unless a transformer has a body to see.
 */
export function finishResponse(
  ctx: SecurityContext,
  binding: FetchBinding,
  response: Response,
): Response | Promise<Response> {
  if (ctx.hasSendTransforms && isTransformable(response)) {
    return response.json().then((body: unknown) => {
      const headers = new Headers(response.headers)
      headers.delete('content-length')
      const transformed = JSON.stringify(ctx.transformBody(body, response.status))
      const init = { status: response.status, statusText: response.statusText, headers }
      return finishHeaders(ctx, binding, new Response(transformed, init))
    })
  }
  return finishHeaders(ctx, binding, response)
}

function finishHeaders(ctx: SecurityContext, binding: FetchBinding, response: Response): Response {
  let out = response
  try {
    applyHeaders(ctx, binding, out.headers)
  } catch {
    out = new Response(out.body, out)
    applyHeaders(ctx, binding, out.headers)
  }
  ctx.finish(out.status, false)
  return out
}

/**
 * The `Response` of what a guard threw (`renderOutcome`: an `answerNow()` answer or a problem
 * document), before `finishResponse` adds what guards set. No body for `HEAD`.
 */
export function outcomeResponse(ctx: SecurityContext, thrown: unknown, options: AdapterOptions): Response {
  const { status, headers, body } = renderOutcome(ctx, thrown, options)
  return new Response(ctx.req.method === 'HEAD' ? null : (body ?? null), { status, headers })
}

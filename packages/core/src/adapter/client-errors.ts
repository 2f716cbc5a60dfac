import type { Duplex } from 'node:stream'
import { ApiError, BadRequest, PayloadTooLarge, toProblem } from '@apiward/errors'
import { checkOptions, functionOption, type KnownOptions } from '../options.js'
import { newRequestId } from '../request-id.js'
import { type AdapterOptions, checkAdapterValues } from './kit.js'

/** A `clientError` listener as {@link ClientErrorOptions.insteadOf} sees it. */
export type ClientErrorListener = { readonly name: string }

/** What {@link handleClientErrors} needs of a server: Node's `http.Server` and `https.Server` fit. */
export interface ClientErrorSource {
  on(event: 'clientError', listener: (err: Error, socket: Duplex) => void): unknown
  listeners(event: 'clientError'): ReadonlyArray<ClientErrorListener>
  removeListener(event: 'clientError', listener: ClientErrorListener): unknown
}

/** Options of {@link handleClientErrors}. */
export interface ClientErrorOptions extends Pick<AdapterOptions, 'problemTypeBase' | 'requestIdHeader'> {
  /**
   * Install in place of the `clientError` listener this picks, which is removed: a framework's
   * default answer (the Fastify plugin names Fastify's). When none is picked, nothing is
   * installed, so a handler of the user's stays the only one. Default: install alongside
   * whatever listens, as on a server of your own.
   */
  insteadOf?: (listener: ClientErrorListener) => boolean
}

const WHERE = 'handleClientErrors()'
const CLIENT_ERROR_OPTIONS: KnownOptions<ClientErrorOptions> = {
  problemTypeBase: true,
  requestIdHeader: true,
  insteadOf: true,
}

const kInstalled = Symbol.for('apiward.clientErrors')

const encoder = new TextEncoder()

/** The answer to a parser error or a timeout; `undefined` for what only needs the socket closed. */
function clientErrorToApiError(code: unknown): ApiError | undefined {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError(408)
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(431)
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new PayloadTooLarge({ detail: 'The chunk extensions of the request body are too large.' })
  }
  // Other llhttp parse errors (HPE_INVALID_METHOD, HPE_INVALID_HEADER_TOKEN, ...) are malformed
  // HTTP; system errors (ECONNRESET, EPIPE, ...) mean the peer is gone, and nothing is written.
  return typeof code === 'string' && code.startsWith('HPE_')
    ? new BadRequest({ code: 'request.malformed', detail: 'The request is not valid HTTP.' })
    : undefined
}

/** A complete HTTP/1.1 response for `error`, ending the connection. */
function rawResponse(error: ApiError, options: ClientErrorOptions): string {
  const requestId = newRequestId()
  const { status, headers, body } = toProblem(error, { requestId, typeBase: options.problemTypeBase })
  const payload = JSON.stringify(body)
  let head = `HTTP/1.1 ${status} ${body.title}\r\n`
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`
  if (options.requestIdHeader !== false)
    head += `${options.requestIdHeader ?? 'X-Request-Id'}: ${requestId}\r\n`
  return `${head}Content-Length: ${encoder.encode(payload).length}\r\nConnection: close\r\n\r\n${payload}`
}

function onClientError(this: ClientErrorOptions, err: Error, socket: Duplex): void {
  try {
    const error = clientErrorToApiError((err as { code?: unknown }).code)
    // Node's own check: a response of this connection that started already cannot be followed
    // by another one without corrupting what the client reads.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage
    if (error !== undefined && socket.writable && inFlight?.headersSent !== true) {
      socket.write(rawResponse(error, this))
    }
  } catch {
    // Whatever failed, the connection is closed below: a client error must never take the server down.
  }
  socket.destroy()
}

/**
 * Answers the errors Node raises before any framework code runs with problem+json, as every other
 * error of the API: a malformed request (request line, header syntax, framing) is a 400
 * `request.malformed`, headers over `maxHeaderSize` a 431 `request.headers_too_large`, a request
 * that did not arrive within `headersTimeout` / `requestTimeout` a 408 `request.timeout`, oversized
 * chunk extensions a 413. Each answer carries a fresh request ID and `Connection: close`, then the
 * connection is destroyed. A connection the client reset (`ECONNRESET` and other socket errors)
 * is only destroyed, and so is one whose current response already started. It never throws.
 *
 * Without it Node answers these with a bare status line and no body. Express and Koa do not own
 * the `http.Server`, so call it on yours; the Fastify plugin installs it on `fastify.server` in
 * place of Fastify's own JSON answer. A second call on the same server does nothing.
 *
 * @example
 * ```ts
 * const server = http.createServer({ maxHeaderSize: 8192, requestTimeout: 30_000 }, app)
 * handleClientErrors(server)
 * server.listen(3000)
 * ```
 */
export function handleClientErrors(server: ClientErrorSource, options: ClientErrorOptions = {}): void {
  checkOptions<ClientErrorOptions>(options, WHERE, CLIENT_ERROR_OPTIONS)
  checkAdapterValues(options, WHERE)
  const { problemTypeBase, requestIdHeader } = options
  const insteadOf = functionOption<ClientErrorOptions['insteadOf']>(
    options.insteadOf,
    'insteadOf',
    WHERE,
    '(listener) => boolean',
  )
  const marked = server as { [kInstalled]?: true }
  if (marked[kInstalled]) return
  if (insteadOf !== undefined) {
    const replaced = server.listeners('clientError').find(insteadOf)
    if (replaced === undefined) return
    server.removeListener('clientError', replaced)
  }
  marked[kInstalled] = true
  server.on('clientError', onClientError.bind({ problemTypeBase, requestIdHeader }))
}

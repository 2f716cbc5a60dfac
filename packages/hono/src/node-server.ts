import { checkOptions, type KnownOptions, newRequestId, REQUEST_ID_HEADER } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import { BadRequest, InternalServerError, toProblem } from '@apiward/errors'

/** Options of {@link requestErrorHandler}. */
export type RequestErrorOptions = Pick<
  kit.AdapterOptions,
  'problemTypeBase' | 'requestIdHeader' | 'onUnexpectedError'
>

const OPTIONS: KnownOptions<RequestErrorOptions> = {
  problemTypeBase: true,
  requestIdHeader: true,
  onUnexpectedError: true,
}

/**
 * The `errorHandler` of `@hono/node-server`'s `getRequestListener()`: answers what the server
 * refuses before Hono runs (a target it cannot make a URL of, such as an absolute-form target
 * with an upper-case scheme or a backslash, a missing or malformed `Host`) with a 400 problem
 * `request.malformed`, and anything else that escapes the app with a generic 500 (reported to
 * `onUnexpectedError`), each with a fresh request ID. Without it the server answers them with a
 * bare status and no body.
 *
 * @example
 * ```ts
 * const server = createServer(getRequestListener(app.fetch, { errorHandler: requestErrorHandler() }))
 * handleClientErrors(server)
 * ```
 */
export function requestErrorHandler(options: RequestErrorOptions = {}): (err: unknown) => Response {
  const where = 'requestErrorHandler()'
  checkOptions<RequestErrorOptions>(options, where, OPTIONS)
  kit.checkAdapterOptions(options, where)
  const report = options.onUnexpectedError ?? kit.logUnexpectedError
  return function apiwardRequestError(err: unknown): Response {
    const requestId = newRequestId()
    const refused = err instanceof Error && err.name === 'RequestError'
    if (!refused) {
      try {
        report(err, requestId)
      } catch (failure) {
        kit.logUnexpectedError(failure, requestId)
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

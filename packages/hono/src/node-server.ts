import * as kit from '@apiward/core/adapter'

/** Options of {@link requestErrorHandler}. */
export type RequestErrorOptions = kit.RequestErrorOptions

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
  return kit.requestErrorResponder(options, 'requestErrorHandler()')
}

import type { IncomingMessage } from 'node:http'
import { type ApiError, BadRequest } from '@apiward/errors'
import { mediaTypeMatches, mediaTypeOf } from '../media-type.js'

/** What {@link emptyJsonBodyError} reads of a Node request. */
export type BodyFacts = Pick<IncomingMessage, 'method' | 'headers' | 'readableEnded' | 'readableDidRead'>

const JSON_TYPES = ['+json'] as const

/**
 * The 400 `request.malformed_body` for a request whose `Content-Type` says JSON
 * (`application/json` or any `+json` type) but whose body is empty, as Fastify answers it;
 * `undefined` for every other request. body-parser and co-body hand such a request to the handler
 * as `{}`, indistinguishable from a real `{}`, so a missing body would pass for an empty object.
 *
 * The body is empty when `Content-Length` is 0, when the request has neither `Content-Length`
 * nor `Transfer-Encoding` (a request without either has no body, RFC 9112 §6.3), or when a
 * chunked body was read to its end and yielded no byte (`readableEnded` without
 * `readableDidRead`). A chunked body nobody has read yet is left to the body parser; so is a
 * compressed body, whose bytes are not empty whatever it inflates to. `GET` and `HEAD` are never
 * refused: their bodies have no meaning and no parser reads them.
 *
 * Adapters call it before running guards, so what runs after the body parser sees every case;
 * for a request no one refused it costs a few comparisons.
 *
 * @example
 * ```ts
 * const malformed = emptyJsonBodyError(req)
 * if (malformed !== undefined) throw malformed
 * ```
 */
export function emptyJsonBodyError(req: BodyFacts): ApiError | undefined {
  const method = req.method
  if (method === 'GET' || method === 'HEAD') return undefined
  const headers = req.headers
  const length = headers['content-length']
  if (length !== undefined) {
    if (length !== '0' && Number(length) !== 0) return undefined
  } else if (headers['transfer-encoding'] !== undefined && !(req.readableEnded && !req.readableDidRead)) {
    return undefined
  }
  if (!mediaTypeMatches(mediaTypeOf(headers['content-type']), JSON_TYPES)) return undefined
  return new BadRequest({
    code: 'request.malformed_body',
    detail: 'The request body is empty but its type says JSON.',
  })
}

import { BadRequest, PayloadTooLarge } from '@apiward/errors'

/** What {@link readRawBody} needs of a stream: Node's `IncomingMessage` and Fastify's payload fit. */
export interface BodyStream {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown
  once(event: 'end' | 'close', listener: () => void): unknown
  once(event: 'error', listener: (err: Error) => void): unknown
  removeListener(event: string, listener: (...args: never[]) => void): unknown
  pause(): unknown
  resume(): unknown
  readonly readableEnded?: boolean
  readonly readableDidRead?: boolean
}

const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer

const tooLarge = (limit: number) =>
  new PayloadTooLarge({
    detail: `The request body is over the limit of ${limit} bytes.`,
    // The rest of the body is not read: the connection closes after the answer.
    headers: { Connection: 'close' },
  })

/**
 * Reads a request body as raw bytes, at most `limit` of them: a declared `Content-Length` over the
 * limit is refused before a byte is read, and a body that grows past it while streaming is refused
 * at that byte (the stream is paused, nothing more is buffered, and the answer closes the
 * connection). 413 `request.body_too_large` either way; a stream that fails or stops early is a
 * 400 `request.aborted`. A body some parser already read is a `TypeError` naming the fix: the
 * reading guard must run before any other body parser.
 */
export function readRawBody(
  stream: BodyStream,
  contentLength: string | undefined,
  limit: number,
): Promise<Uint8Array> {
  if (contentLength !== undefined && Number(contentLength) > limit) return Promise.reject(tooLarge(limit))
  if (stream.readableEnded === true || stream.readableDidRead === true) {
    return Promise.reject(
      new TypeError(
        'The request body was already read by a body parser; mount the guard that reads the raw body before it (before express.json(), bodyParser(), ...).',
      ),
    )
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = []
    let size = 0
    const done = () => {
      stream.removeListener('data', onData)
      stream.removeListener('end', onEnd)
      stream.removeListener('error', onError)
      stream.removeListener('close', onClose)
    }
    const onData = (chunk: Uint8Array) => {
      size += chunk.length
      if (size > limit) {
        done()
        stream.pause()
        reject(tooLarge(limit))
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      done()
      // A Buffer where the runtime has one: Fastify 5's parser decodes the bytes replayed to it
      // with the chunk's own toString(), which a plain Uint8Array answers with its numbers.
      const body = NodeBuffer === undefined ? new Uint8Array(size) : NodeBuffer.allocUnsafe(size)
      let at = 0
      for (const chunk of chunks) {
        body.set(chunk, at)
        at += chunk.length
      }
      resolve(body)
    }
    const onError = (cause: Error) => {
      done()
      reject(
        new BadRequest({
          code: 'request.aborted',
          detail: 'The request body was not received completely.',
          cause,
        }),
      )
    }
    const onClose = () => onError(new Error('the stream closed before its end'))
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', onError)
    stream.once('close', onClose)
    stream.resume()
  })
}

const kAnswer = Symbol.for('apiward.Answer')

/** Options of {@link answerNow}. */
export interface AnswerOptions {
  /** Response headers of the answer, beside those guards already set (which stay). */
  headers?: Readonly<Record<string, string>>
  /**
   * The body: a string is sent as it is (`text/plain; charset=utf-8` unless `headers` name a
   * `Content-Type`), anything else as JSON (`application/json`). Default: none. A 204 or 304
   * has no body.
   */
  body?: unknown
}

/**
 * A guard's third outcome beside allowing and denying: the request is answered now with this
 * status, headers and body, and the handler never runs (a CORS preflight's 204, an `OPTIONS`
 * answer, a redirect to HTTPS). A guard throws it; compositions stop there, as at a denial, and
 * every adapter writes it instead of a problem document. It is not an `Error`: throwing it
 * captures no stack, and an answer built once at startup can be thrown on every request.
 */
export class Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The serialised body, `undefined` for none. */
  readonly body: string | undefined

  constructor(status: number, options: AnswerOptions = {}) {
    if (!Number.isInteger(status) || status < 200 || status > 399) {
      throw new TypeError(
        `answerNow(status): status must be an integer from 200 to 399, got ${String(status)}; to deny, throw an ApiError`,
      )
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (typeof value !== 'string') {
        throw new TypeError(`answerNow(): header ${name} must be a string, got ${typeof value}`)
      }
      headers[name.toLowerCase()] = value
    }
    let body: string | undefined
    if (options.body !== undefined) {
      if (status === 204 || status === 304) {
        throw new TypeError(`answerNow(${status}): a ${status} answer has no body`)
      }
      if (typeof options.body === 'string') {
        body = options.body
        headers['content-type'] ??= 'text/plain; charset=utf-8'
      } else {
        body = JSON.stringify(options.body)
        headers['content-type'] ??= 'application/json; charset=utf-8'
      }
    }
    this.status = status
    this.headers = Object.freeze(headers)
    this.body = body
    Object.defineProperty(this, kAnswer, { value: true })
    Object.freeze(this)
  }

  /** Whether a thrown value is an `Answer`, also from another copy of this package. */
  static is(value: unknown): value is Answer {
    return typeof value === 'object' && value !== null && (value as { [kAnswer]?: unknown })[kAnswer] === true
  }
}

/**
 * Builds an {@link Answer} for a guard to throw: the request ends now with this status, headers
 * and optional body, and the handler never runs; headers other guards set stay. Build it once
 * at startup where it does not depend on the request.
 *
 * @example
 * ```ts
 * const toHttps = defineGuard((ctx) => {
 *   if (!ctx.req.secure) throw answerNow(308, { headers: { Location: `https://${ctx.req.host}${ctx.req.rawPath}` } })
 * }, { guardName: 'httpsOnly' })
 * ```
 */
export function answerNow(status: number, options?: AnswerOptions): Answer {
  return new Answer(status, options)
}

/** One entry of a validation failure, located by a JSON pointer (RFC 6901) into the request. */
export interface ProblemFieldError {
  /** JSON pointer to the offending value, e.g. `/title` or `/tags/3`. */
  pointer: string
  /** Client-safe explanation of what is wrong with the value. */
  message: string
  /** Optional machine-readable reason, e.g. `required` or `additionalProperties`. */
  code?: string
}

/** Options shared by every {@link ApiError}. */
export interface ApiErrorOptions {
  /**
   * Stable, dotted, machine-readable code such as `auth.invalid_token`. Clients branch on it;
   * it never changes once published. Default: the status' generic code (see `docs/errors.md`).
   */
  code?: string
  /** Short client-safe summary. Default: the HTTP reason phrase of the status. */
  title?: string
  /** Client-safe explanation of this occurrence. Default: a generic sentence for the status. */
  detail?: string
  /** Response headers that belong to the error, e.g. `WWW-Authenticate` or `Retry-After`. */
  headers?: Readonly<Record<string, string>>
  /** Validation details, each with a JSON pointer. */
  errors?: readonly ProblemFieldError[]
  /**
   * The internal reason (an exception, a library error code...). It is kept for logs and
   * security events and is never rendered to the client.
   */
  cause?: unknown
}

const REASONS: Record<number, [title: string, code: string, detail: string]> = {
  400: ['Bad Request', 'request.invalid', 'The request is malformed or invalid.'],
  401: ['Unauthorized', 'auth.unauthorized', 'Valid credentials are required to access this resource.'],
  403: ['Forbidden', 'authz.forbidden', 'The credentials do not grant access to this resource.'],
  404: ['Not Found', 'route.not_found', 'The requested resource does not exist.'],
  405: ['Method Not Allowed', 'route.method_not_allowed', 'The method is not allowed for this resource.'],
  406: ['Not Acceptable', 'request.not_acceptable', 'No acceptable representation is available.'],
  408: ['Request Timeout', 'request.timeout', 'The request took too long to arrive.'],
  409: ['Conflict', 'request.conflict', 'The request conflicts with the current state of the resource.'],
  410: ['Gone', 'route.gone', 'The resource is no longer available.'],
  411: ['Length Required', 'request.length_required', 'The request must declare its length.'],
  412: ['Precondition Failed', 'request.precondition_failed', 'A precondition of the request failed.'],
  413: ['Content Too Large', 'request.body_too_large', 'The request body is larger than allowed.'],
  414: ['URI Too Long', 'request.uri_too_long', 'The request URI is longer than allowed.'],
  415: [
    'Unsupported Media Type',
    'request.unsupported_media_type',
    'The request body has an unsupported media type.',
  ],
  416: ['Range Not Satisfiable', 'request.range_not_satisfiable', 'The requested range cannot be served.'],
  422: [
    'Unprocessable Content',
    'request.unprocessable',
    'The request is well-formed but cannot be processed.',
  ],
  428: ['Precondition Required', 'request.precondition_required', 'The request must be conditional.'],
  429: ['Too Many Requests', 'ratelimit.exceeded', 'Too many requests; retry later.'],
  431: ['Request Header Fields Too Large', 'request.headers_too_large', 'The request headers are too large.'],
  500: ['Internal Server Error', 'server.internal', 'An unexpected error occurred.'],
  501: ['Not Implemented', 'server.not_implemented', 'The server does not support this functionality.'],
  502: ['Bad Gateway', 'server.bad_gateway', 'An upstream service answered with an error.'],
  503: ['Service Unavailable', 'server.unavailable', 'The service is temporarily unavailable; retry later.'],
  504: ['Gateway Timeout', 'server.gateway_timeout', 'An upstream service did not answer in time.'],
}

/** The default title, code and detail of a status, used when an error does not give its own. */
export function statusDefaults(status: number): { title: string; code: string; detail: string } {
  const known = REASONS[status]
  if (known) return { title: known[0], code: known[1], detail: known[2] }
  return status < 500
    ? { title: 'Client Error', code: 'request.invalid', detail: 'The request cannot be served.' }
    : { title: 'Server Error', code: 'server.internal', detail: 'An unexpected error occurred.' }
}

/**
 * An error meant for the client: an HTTP status, a stable `code` and a client-safe message.
 * Guards deny by throwing one; adapters render it as `application/problem+json`.
 *
 * Denials are expected control flow, so an `ApiError` does not capture a stack trace: the
 * internal reason, when there is one, travels in `cause`.
 *
 * @example
 * ```ts
 * throw new ApiError(409, { code: 'notes.duplicate_title', detail: 'A note with this title exists.' })
 * ```
 */
export class ApiError extends Error {
  /** HTTP status code, 400 to 599. */
  readonly status: number
  /** Stable dotted machine code, e.g. `auth.token_expired`. */
  readonly code: string
  /** Short client-safe summary. */
  readonly title: string
  /** Client-safe explanation of this occurrence. */
  readonly detail: string
  /** Headers that must accompany the error response. */
  readonly headers: Readonly<Record<string, string>> | undefined
  /** Validation details, each with a JSON pointer. */
  readonly errors: readonly ProblemFieldError[] | undefined

  constructor(status: number, options: ApiErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new TypeError(`ApiError status must be an integer from 400 to 599, got ${String(status)}`)
    }
    const defaults = statusDefaults(status)
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(
      options.detail ?? defaults.detail,
      options.cause === undefined ? undefined : { cause: options.cause },
    )
    Error.stackTraceLimit = limit
    this.status = status
    this.code = options.code ?? defaults.code
    this.title = options.title ?? defaults.title
    this.detail = options.detail ?? defaults.detail
    this.headers = options.headers
    this.errors = options.errors
  }

  /** Whether the value is an {@link ApiError}, also across duplicated copies of this package. */
  static is(value: unknown): value is ApiError {
    return (
      value instanceof ApiError ||
      (value instanceof Error && (value as { [kApiError]?: true })[kApiError] === true)
    )
  }
}

const kApiError = Symbol.for('apiward.ApiError')
Object.defineProperty(ApiError.prototype, kApiError, { value: true })
Object.defineProperty(ApiError.prototype, 'name', { value: 'ApiError', writable: true, configurable: true })

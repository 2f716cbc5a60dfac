import { ApiError, type ApiErrorOptions } from './api-error.js'

/** 400: the request is malformed or fails validation. */
export class BadRequest extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(400, options)
  }
}

/** 401: credentials are missing or invalid. Carry `WWW-Authenticate` in `headers`. */
export class Unauthorized extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(401, options)
  }
}

/** 403: the caller is known but not allowed. */
export class Forbidden extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(403, options)
  }
}

/** 404: no such resource, or its existence must not be revealed. */
export class NotFound extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(404, options)
  }
}

/** 405: the path exists but not with this method. The `Allow` header lists the methods that do. */
export class MethodNotAllowed extends ApiError {
  constructor(allow: readonly string[], options: ApiErrorOptions = {}) {
    super(405, { ...options, headers: { Allow: allow.join(', '), ...options.headers } })
  }
}

/** 409: the request conflicts with the current state. */
export class Conflict extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(409, options)
  }
}

/** 413: the body is larger than the configured limit. */
export class PayloadTooLarge extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(413, options)
  }
}

/** 415: the body's media type is not accepted. */
export class UnsupportedMediaType extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(415, options)
  }
}

/** 422: the body is well-formed but semantically invalid. */
export class UnprocessableEntity extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(422, options)
  }
}

function withRetryAfter(options: ApiErrorOptions & { retryAfter?: number }): ApiErrorOptions {
  const { retryAfter, ...rest } = options
  if (retryAfter === undefined) return rest
  return { ...rest, headers: { 'Retry-After': String(Math.max(0, Math.ceil(retryAfter))), ...rest.headers } }
}

/** 429: a rate limit was exceeded. `retryAfter` (seconds) becomes the `Retry-After` header. */
export class TooManyRequests extends ApiError {
  constructor(options: ApiErrorOptions & { retryAfter?: number } = {}) {
    super(429, withRetryAfter(options))
  }
}

/** 500: an unexpected failure. The body never says more than that; keep the reason in `cause`. */
export class InternalServerError extends ApiError {
  constructor(options: ApiErrorOptions = {}) {
    super(500, options)
  }
}

/** 503: a dependency is down (e.g. a fail-closed rate-limit store). `retryAfter` in seconds. */
export class ServiceUnavailable extends ApiError {
  constructor(options: ApiErrorOptions & { retryAfter?: number } = {}) {
    super(503, withRetryAfter(options))
  }
}

import {
  ApiError,
  BadRequest,
  Conflict,
  Forbidden,
  InternalServerError,
  MethodNotAllowed,
  NotFound,
  PayloadTooLarge,
  PROBLEM_CONTENT_TYPE,
  ServiceUnavailable,
  TooManyRequests,
  toApiError,
  toProblem,
  Unauthorized,
  UnprocessableEntity,
  UnsupportedMediaType,
} from '@apiward/errors'
import { describe, expect, it } from 'vitest'

describe('ApiError', () => {
  it('carries status, a stable code, a title and a detail with defaults per status', () => {
    const err = new ApiError(409)
    expect(err).toBeInstanceOf(Error)
    expect(err).toMatchObject({ status: 409, code: 'request.conflict', title: 'Conflict', name: 'ApiError' })
    expect(err.detail).toBe(err.message)
  })

  it('refuses a status outside 400..599 when it is built', () => {
    expect(() => new ApiError(302)).toThrow(TypeError)
    expect(() => new ApiError(200.5)).toThrow(/400 to 599/)
  })

  it('keeps the cause for logs without capturing a stack trace of its own', () => {
    const cause = new Error('db down')
    const err = new Unauthorized({ code: 'auth.token_expired', cause })
    expect(err.cause).toBe(cause)
    expect(err.stack ?? '').not.toMatch(/\n\s+at /)
  })

  it('restores the stack trace limit for other errors', () => {
    const before = Error.stackTraceLimit
    new BadRequest()
    expect(Error.stackTraceLimit).toBe(before)
    expect(new Error('x').stack).toMatch(/\n\s+at /)
  })

  it.each([
    [BadRequest, 400, 'request.invalid'],
    [Unauthorized, 401, 'auth.unauthorized'],
    [Forbidden, 403, 'authz.forbidden'],
    [NotFound, 404, 'route.not_found'],
    [Conflict, 409, 'request.conflict'],
    [PayloadTooLarge, 413, 'request.body_too_large'],
    [UnsupportedMediaType, 415, 'request.unsupported_media_type'],
    [UnprocessableEntity, 422, 'request.unprocessable'],
    [TooManyRequests, 429, 'ratelimit.exceeded'],
    [InternalServerError, 500, 'server.internal'],
    [ServiceUnavailable, 503, 'server.unavailable'],
  ] as const)('%o has status %i and code %s', (Ctor, status, code) => {
    const err = new Ctor()
    expect(err.status).toBe(status)
    expect(err.code).toBe(code)
    expect(ApiError.is(err)).toBe(true)
  })

  it('puts the allowed methods of a 405 in Allow', () => {
    expect(new MethodNotAllowed(['GET', 'HEAD']).headers).toEqual({ Allow: 'GET, HEAD' })
  })

  it('turns retryAfter seconds into a whole Retry-After header', () => {
    expect(new TooManyRequests({ retryAfter: 1.2 }).headers).toEqual({ 'Retry-After': '2' })
    expect(new ServiceUnavailable({ retryAfter: 30 }).headers).toEqual({ 'Retry-After': '30' })
    expect(new TooManyRequests().headers).toBeUndefined()
  })

  it('recognises an ApiError from another copy of the package', () => {
    const foreign = Object.create(ApiError.prototype)
    expect(ApiError.is(foreign)).toBe(true)
    expect(ApiError.is(new Error('x'))).toBe(false)
    expect(ApiError.is({ status: 400 })).toBe(false)
  })
})

describe('toProblem', () => {
  it('renders an RFC 9457 document with code, requestId and validation errors', () => {
    const err = new BadRequest({
      code: 'validation.failed',
      detail: 'The body is invalid.',
      errors: [{ pointer: '/title', message: 'must be a string' }],
    })
    const { status, headers, body } = toProblem(err, { requestId: 'r-1' })
    expect(status).toBe(400)
    expect(headers['Content-Type']).toBe(PROBLEM_CONTENT_TYPE)
    expect(body).toEqual({
      type: 'urn:apiward:problem:validation.failed',
      title: 'Bad Request',
      status: 400,
      code: 'validation.failed',
      detail: 'The body is invalid.',
      requestId: 'r-1',
      errors: [{ pointer: '/title', message: 'must be a string' }],
    })
  })

  it('uses the configured type base', () => {
    expect(toProblem(new NotFound(), { typeBase: 'https://api.example.com/problems/' }).body.type).toBe(
      'https://api.example.com/problems/route.not_found',
    )
  })

  it('copies the error headers next to the content type', () => {
    const { headers } = toProblem(new Unauthorized({ headers: { 'WWW-Authenticate': 'Bearer realm="x"' } }))
    expect(headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="x"', 'Content-Type': PROBLEM_CONTENT_TYPE })
  })

  it('renders an unknown error as a generic 500 that reveals nothing and keeps the original', () => {
    const original = new Error('password=hunter2 at db.js:12')
    const rendered = toProblem(original)
    expect(rendered.status).toBe(500)
    expect(JSON.stringify(rendered.body)).not.toContain('hunter2')
    expect(rendered.body.detail).toBe('An unexpected error occurred.')
    expect(rendered.error.cause).toBe(original)
  })

  it('renders thrown non-errors too', () => {
    expect(toProblem('boom').status).toBe(500)
    expect(toProblem(undefined).status).toBe(500)
    expect(toProblem(null).body.code).toBe('server.internal')
  })
})

describe('toApiError', () => {
  it('keeps a 4xx status of a framework error but not its message', () => {
    const err = Object.assign(new Error('Unexpected token } in JSON at position 3'), { status: 400 })
    const mapped = toApiError(err)
    expect(mapped.status).toBe(400)
    expect(mapped.detail).not.toContain('Unexpected token')
    expect(mapped.cause).toBe(err)
  })

  it('reads statusCode as well as status', () => {
    expect(toApiError({ statusCode: 413 }).status).toBe(413)
  })

  it('does not trust a 5xx or an odd status from an unknown error', () => {
    expect(toApiError({ status: 503 }).status).toBe(500)
    expect(toApiError({ status: 200 }).status).toBe(500)
    expect(toApiError({ status: 'x' }).status).toBe(500)
  })
})

import { allowHeaderMethods, frameworkErrorToApiError, renderProblem, runGuard } from '@apiward/core'
import { Forbidden } from '@apiward/errors'
import { describe, expect, it, vi } from 'vitest'
import { fakeIncoming, testContext } from './support.js'

describe('frameworkErrorToApiError', () => {
  it.each([
    [{ type: 'entity.parse.failed', status: 400 }, 400, 'request.malformed_body'],
    [{ type: 'entity.too.large', status: 413 }, 413, 'request.body_too_large'],
    [{ type: 'charset.unsupported', status: 415 }, 415, 'request.unsupported_charset'],
    [{ type: 'encoding.unsupported', status: 415 }, 415, 'request.unsupported_encoding'],
    [{ code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }, 400, 'request.malformed_body'],
    [{ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }, 413, 'request.body_too_large'],
    [{ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }, 415, 'request.unsupported_media_type'],
    [{ code: 'FST_ERR_BAD_URL', statusCode: 400 }, 400, 'request.invalid_path'],
    [Object.assign(new SyntaxError('Unexpected token'), { status: 400 }), 400, 'request.malformed_body'],
    [Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 }), 400, 'request.malformed_body'],
    [new SyntaxError('thrown by a handler'), 500, 'server.internal'],
    [{ status: 404 }, 404, 'route.not_found'],
    [new TypeError('x is undefined'), 500, 'server.internal'],
  ])('maps %o to %i %s', (err, status, code) => {
    const mapped = frameworkErrorToApiError(err)
    expect(mapped.status).toBe(status)
    expect(mapped.code).toBe(code)
  })

  it('keeps the framework error as the cause', () => {
    const err = { type: 'entity.parse.failed', status: 400 }
    expect(frameworkErrorToApiError(err).cause).toBe(err)
  })
})

describe('renderProblem', () => {
  it('reports only unexpected errors', () => {
    const onUnexpectedError = vi.fn()
    const ctx = testContext()
    expect(renderProblem(ctx, new Forbidden(), { onUnexpectedError }).status).toBe(403)
    expect(onUnexpectedError).not.toHaveBeenCalled()
    const bug = new Error('bug')
    expect(renderProblem(ctx, bug, { onUnexpectedError }).status).toBe(500)
    expect(onUnexpectedError).toHaveBeenCalledWith(bug, 'req-1')
  })
})

describe('runGuard', () => {
  it('reports a synchronous allow synchronously', () => {
    const done = vi.fn()
    runGuard(() => {}, testContext(), done)
    expect(done).toHaveBeenCalledWith()
  })

  it('reports a synchronous denial synchronously', () => {
    const done = vi.fn()
    const denial = new Forbidden()
    runGuard(
      () => {
        throw denial
      },
      testContext(),
      done,
    )
    expect(done).toHaveBeenCalledWith(denial)
  })

  it('reports an asynchronous rejection, even one without a reason', async () => {
    const done = vi.fn()
    runGuard(() => Promise.reject(undefined), testContext(), done)
    await new Promise((r) => setTimeout(r, 1))
    expect(done.mock.calls[0]![0]).toBeInstanceOf(Error)
  })
})

describe('allowHeaderMethods', () => {
  it('adds HEAD next to GET and sorts', () => {
    expect(allowHeaderMethods(['post', 'GET'])).toEqual(['GET', 'HEAD', 'POST'])
  })
})

describe('NodeSecurityRequest', () => {
  it('keeps every occurrence of a repeated header', () => {
    const ctx = testContext({ headers: { authorization: ['Bearer a', 'Bearer b'] } })
    expect(ctx.req.headerValues('authorization')).toEqual(['Bearer a', 'Bearer b'])
    expect(fakeIncoming().url).toBe('/x')
  })

  it('has no TLS information on a plain connection', () => {
    expect(testContext().req.tls).toBeUndefined()
  })
})

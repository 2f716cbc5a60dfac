import {
  allowHeaderMethods,
  frameworkErrorToApiError,
  renderProblem,
  runGuard,
  unmatchedRoute,
} from '@apiward/core/adapter'
import { Forbidden } from '@apiward/errors'
import { describe, expect, it, vi } from 'vitest'
import { fakeIncoming, testContext } from './support.js'

describe('frameworkErrorToApiError', () => {
  it.each([
    [{ type: 'entity.parse.failed', status: 400 }, 400, 'request.malformed_body'],
    [{ type: 'entity.too.large', status: 413 }, 413, 'request.body_too_large'],
    [{ type: 'charset.unsupported', status: 415 }, 415, 'request.unsupported_charset'],
    [{ type: 'encoding.unsupported', status: 415 }, 415, 'request.unsupported_encoding'],
    [{ code: 'X_PARSE', statusCode: 400 }, 400, 'request.malformed_body'],
    [{ code: 'X_TOO_LARGE', statusCode: 413 }, 413, 'request.body_too_large'],
    [{ code: 'X_MEDIA', statusCode: 415 }, 415, 'request.unsupported_media_type'],
    [{ code: 'X_URL', statusCode: 400 }, 400, 'request.invalid_path'],
    [{ code: 'X_EMPTY', statusCode: 400 }, 400, 'request.malformed_body'],
    [{ code: 'X_UNKNOWN', statusCode: 500 }, 500, 'server.internal'],
    [Object.assign(new SyntaxError('Unexpected token'), { status: 400 }), 400, 'request.malformed_body'],
    [Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 }), 400, 'request.malformed_body'],
    [new SyntaxError('thrown by a handler'), 500, 'server.internal'],
    [{ status: 404 }, 404, 'route.not_found'],
    [new TypeError('x is undefined'), 500, 'server.internal'],
  ])('maps %o to %i %s', (err, status, code) => {
    // An adapter's own codes, mapped onto the kinds the kit knows.
    const mapped = frameworkErrorToApiError(err, {
      X_PARSE: 'entity.parse.failed',
      X_TOO_LARGE: 'entity.too.large',
      X_MEDIA: 'media.unsupported',
      X_URL: 'path.malformed',
      X_EMPTY: 'body.empty_json',
    })
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
  const allowed = (a: string, b: string, c: string) => `allowed ${a}${b}${c}`
  const denied = (_a: string, _b: string, _c: string, _ctx: unknown, failure: unknown) => failure

  it('continues a synchronous allow synchronously, with the adapter arguments', () => {
    expect(runGuard(() => {}, testContext(), 'a', 'b', 'c', allowed, denied)).toBe('allowed abc')
  })

  it('continues a synchronous denial synchronously', () => {
    const denial = new Forbidden()
    const guard = () => {
      throw denial
    }
    expect(runGuard(guard, testContext(), 'a', 'b', 'c', allowed, denied)).toBe(denial)
  })

  it('waits for an asynchronous guard', async () => {
    const out = runGuard(async () => {}, testContext(), 'a', 'b', 'c', allowed, denied)
    expect(out).toBeInstanceOf(Promise)
    expect(await out).toBe('allowed abc')
  })

  it('hands the context to both continuations', () => {
    const ctx = testContext()
    let seen: unknown
    runGuard(
      () => {},
      ctx,
      'a',
      'b',
      'c',
      (_a, _b, _c, c) => {
        seen = c
      },
      denied,
    )
    expect(seen).toBe(ctx)
  })

  it.each([
    ['allows synchronously', (ctx: any) => twice(ctx)],
    [
      'denies synchronously',
      (ctx: any) => {
        twice(ctx)
        throw new Forbidden()
      },
    ],
    ['allows later', async (ctx: any) => twice(ctx)],
    [
      'denies later',
      async (ctx: any) => {
        twice(ctx)
        throw new Forbidden()
      },
    ],
  ])(
    'sets each deferred header once, with its last value, before it continues, when the guard %s',
    async (_, guard) => {
      const ctx = testContext()
      const sets: string[] = []
      const set = ctx.binding.setHeader
      ctx.binding.setHeader = function (name: string, value: string) {
        sets.push(`${name}: ${value}`)
        set.call(this, name, value)
      }
      const seen = (_a: string, _b: string, _c: string) => [...sets]
      expect(await runGuard(guard, ctx, 'a', 'b', 'c', seen, seen)).toEqual(['ratelimit: 2', 'x-other: 1'])
      // Outside a guard run the header is set at once.
      ctx.deferHeader('ratelimit', '3')
      expect(sets).toEqual(['ratelimit: 2', 'x-other: 1', 'ratelimit: 3'])
    },
  )
})

describe('deferHeader on a binding that stores headers', () => {
  it('sets at once, inside a guard run too', () => {
    const ctx = testContext()
    Object.defineProperty(ctx.binding, 'storesHeaders', { value: true })
    const sets: string[] = []
    ctx.binding.setHeader = (name: string, value: string) => {
      sets.push(`${name}: ${value}`)
    }
    const seen = () => [...sets]
    const guard = (c: any) => {
      twice(c)
      expect(sets).toEqual(['ratelimit: 1', 'x-other: 1', 'ratelimit: 2'])
    }
    expect(runGuard(guard, ctx, 'a', 'b', 'c', seen, seen)).toEqual([
      'ratelimit: 1',
      'x-other: 1',
      'ratelimit: 2',
    ])
  })
})

/** What two limiters on one request do: each writes the same header, the second its combined value. */
function twice(ctx: { deferHeader(name: string, value: string): void }): void {
  ctx.deferHeader('ratelimit', '1')
  ctx.deferHeader('x-other', '1')
  ctx.deferHeader('ratelimit', '2')
}

describe('unmatchedRoute', () => {
  it('is a 404 when the router knows no method for the path', () => {
    expect(unmatchedRoute('GET', [])).toMatchObject({ status: 404, code: 'route.not_found' })
  })

  it('is a 404 when a route of the request method passed the request on', () => {
    expect(unmatchedRoute('GET', ['GET', 'POST'])).toMatchObject({ status: 404 })
    expect(unmatchedRoute('HEAD', ['get'])).toMatchObject({ status: 404 })
  })

  it('is a 405 with Allow for another method', () => {
    const out = unmatchedRoute('DELETE', ['post', 'GET'])
    expect(out).toMatchObject({ status: 405, code: 'route.method_not_allowed' })
    expect((out as { headers: Record<string, string> }).headers.Allow).toBe('GET, HEAD, POST')
  })

  it('answers OPTIONS with 204 and Allow', () => {
    expect(unmatchedRoute('OPTIONS', ['GET'])).toMatchObject({
      status: 204,
      headers: { allow: 'GET, HEAD, OPTIONS' },
    })
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

import { ApiError, BadRequest, ERROR_CODES, isApiError, NotFound, statusDefaults } from '@apiward/errors'
import { describe, expect, it } from 'vitest'

describe('ERROR_CODES', () => {
  it('holds the default code of every status from 400 to 599', () => {
    const codes: readonly string[] = ERROR_CODES
    for (let status = 400; status < 600; status++) expect(codes).toContain(statusDefaults(status).code)
  })

  it('lists each code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length)
  })
})

describe('isApiError', () => {
  it('tells an ApiError from any other value', () => {
    expect(isApiError(new BadRequest())).toBe(true)
    expect(isApiError(new Error('x'))).toBe(false)
    expect(isApiError({ status: 400, code: 'request.invalid' })).toBe(false)
    expect(isApiError(undefined)).toBe(false)
  })

  it('matches a code exactly when one is given', () => {
    const err: unknown = new NotFound()
    expect(isApiError(err, 'route.not_found')).toBe(true)
    expect(isApiError(err, 'route.gone')).toBe(false)
    expect(isApiError(new Error('route.not_found'), 'route.not_found')).toBe(false)
  })

  it('recognises an ApiError of a duplicated copy of the package', () => {
    const foreign = Object.assign(new Error('x'), {
      [Symbol.for('apiward.ApiError')]: true,
      code: 'auth.invalid_token',
    })
    expect(isApiError(foreign, 'auth.invalid_token')).toBe(true)
    expect(ApiError.is(foreign)).toBe(true)
  })
})

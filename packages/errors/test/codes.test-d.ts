import { type ApiError, type ErrorCode, isApiError } from '@apiward/errors'
import { describe, expectTypeOf, it } from 'vitest'

describe('isApiError types', () => {
  it('narrows to an ApiError, and to its code when one is given', () => {
    const err: unknown = undefined
    if (isApiError(err)) expectTypeOf(err).toMatchTypeOf<ApiError>()
    if (isApiError(err, 'route.not_found')) expectTypeOf(err.code).toEqualTypeOf<'route.not_found'>()
    expectTypeOf<'validation.rejected'>().toMatchTypeOf<ErrorCode>()
  })
})

import { guardFailure, runGuard } from '@apiward/core'
import { Forbidden } from '@apiward/errors'
import { describe, expect, it } from 'vitest'
import { testContext } from './support.js'

const FALSY = [null, undefined, 0, '', false]

describe('guardFailure', () => {
  it.each(FALSY)('turns a guard failing with %j into an Error', (thrown) => {
    const failure = guardFailure(thrown)
    expect(failure).toBeInstanceOf(Error)
    expect((failure as Error).message).toMatch(/A guard failed without a reason/)
  })

  it('keeps a real error as it is', () => {
    const denial = new Forbidden()
    expect(guardFailure(denial)).toBe(denial)
  })
})

describe('runGuard', () => {
  it.each(FALSY)('reports a guard that throws %j as failed, never as allowed', (thrown) => {
    const reports: unknown[] = []
    runGuard(
      () => {
        throw thrown
      },
      testContext(),
      (err) => reports.push(err),
    )
    expect(reports).toHaveLength(1)
    expect(reports[0]).toBeInstanceOf(Error)
  })

  it.each(FALSY)('reports a guard that rejects with %j as failed', async (thrown) => {
    const reported = await new Promise((resolve) =>
      runGuard(() => Promise.reject(thrown), testContext(), resolve),
    )
    expect(reported).toBeInstanceOf(Error)
  })
})

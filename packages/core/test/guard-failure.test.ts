import { guardFailure, runGuard } from '@apiward/core/adapter'
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
  const allowed = () => 'allowed'
  const denied = (_a: unknown, _b: unknown, _c: unknown, _ctx: unknown, failure: unknown) => failure

  it.each(FALSY)('reports a guard that throws %j as failed, never as allowed', (thrown) => {
    const out = runGuard(
      () => {
        throw thrown
      },
      testContext(),
      1,
      2,
      3,
      allowed,
      denied,
    )
    expect(out).toBeInstanceOf(Error)
  })

  it.each(FALSY)('reports a guard that rejects with %j as failed', async (thrown) => {
    const out = await runGuard(() => Promise.reject(thrown), testContext(), 1, 2, 3, allowed, denied)
    expect(out).toBeInstanceOf(Error)
  })
})

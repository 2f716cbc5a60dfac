import { Answer, answerNow, compose } from '@apiward/core'
import { renderOutcome } from '@apiward/core/adapter'
import { Forbidden } from '@apiward/errors'
import { describe, expect, it } from 'vitest'
import { testContext } from './support.js'

describe('answerNow', () => {
  it('carries a status, lower-cased headers and no body by default', () => {
    const answer = answerNow(204, { headers: { 'Access-Control-Allow-Origin': 'https://app.example' } })
    expect(answer.status).toBe(204)
    expect(answer.headers).toEqual({ 'access-control-allow-origin': 'https://app.example' })
    expect(answer.body).toBeUndefined()
  })

  it('serialises an object body as JSON and a string as text, unless a content type is given', () => {
    expect(answerNow(200, { body: { ok: true } })).toMatchObject({
      body: '{"ok":true}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    expect(answerNow(200, { body: 'moved' }).headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(answerNow(200, { body: '<x/>', headers: { 'Content-Type': 'application/xml' } }).headers).toEqual({
      'content-type': 'application/xml',
    })
  })

  it.each([[199], [400], [500], [204.5], [Number.NaN]])(
    'refuses status %s, naming the way to deny',
    (status) => {
      expect(() => answerNow(status)).toThrow(/200 to 399.*ApiError/)
    },
  )

  it('refuses a body on 204 and 304 and a header that is not a string', () => {
    expect(() => answerNow(204, { body: 'x' })).toThrow(/no body/)
    expect(() => answerNow(304, { body: {} })).toThrow(/no body/)
    expect(() => answerNow(200, { headers: { Location: 1 as never } })).toThrow(/must be a string/)
  })

  it('is frozen, so one built at startup can be thrown on every request', () => {
    const answer = answerNow(308, { headers: { Location: 'https://x/' } })
    expect(Object.isFrozen(answer)).toBe(true)
    expect(Object.isFrozen(answer.headers)).toBe(true)
    expect(answer).not.toBeInstanceOf(Error)
    expect(Answer.is(answer)).toBe(true)
    expect(Answer.is({ status: 204, headers: {}, body: undefined })).toBe(false)
  })

  it('stops a composition like a denial does', async () => {
    const ran: string[] = []
    const guard = compose(
      () => {
        ran.push('a')
        throw answerNow(204)
      },
      () => {
        ran.push('b')
      },
    )
    expect(() => guard(testContext())).toThrow(Answer)
    expect(ran).toEqual(['a'])
  })
})

describe('renderOutcome', () => {
  it('writes an answer as it is and records no error', () => {
    const ctx = testContext()
    const out = renderOutcome(ctx, answerNow(204, { headers: { Allow: 'GET' } }), {})
    expect(out).toMatchObject({ status: 204, headers: { allow: 'GET' }, body: undefined })
    expect(ctx.error).toBeUndefined()
  })

  it('writes anything else as its problem document', () => {
    const ctx = testContext()
    const out = renderOutcome(ctx, new Forbidden({ code: 'authz.denied' }), {})
    expect(out.status).toBe(403)
    expect(out.headers['Content-Type'] ?? out.headers['content-type']).toMatch(/problem\+json/)
    expect(JSON.parse(out.body!)).toMatchObject({ status: 403, code: 'authz.denied' })
    expect(ctx.error?.code).toBe('authz.denied')
  })
})

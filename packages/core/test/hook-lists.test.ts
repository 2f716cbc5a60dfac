import { checkHookLists, markHookLists } from '@apiward/core/adapter'
import { describe, expect, it } from 'vitest'

const hook = () => () => {}
const lists = () => markHookLists({ onRequest: [hook()], preHandler: [hook()] })

describe('checkHookLists', () => {
  it('throws, naming the lost lists, when a second spread replaced the first one', () => {
    expect(() => checkHookLists({ ...lists(), ...lists() }, 'GET /notes')).toThrow(
      /^GET \/notes: a later spread or property replaced the onRequest and preHandler hooks of a guard\(\)/,
    )
  })

  it('throws when a property of the options replaced one list', () => {
    const g = lists()
    expect(() => checkHookLists({ ...g, preHandler: [hook()] }, 'POST /notes')).toThrow(
      /the preHandler hooks/,
    )
  })

  it('accepts the hooks kept among others, in any order, in an array or alone', () => {
    const a = lists()
    const b = lists()
    const mine = hook()
    expect(() =>
      checkHookLists(
        {
          ...a,
          ...b,
          onRequest: [mine, ...b.onRequest, ...a.onRequest],
          preHandler: [...a.preHandler, ...b.preHandler],
        },
        'x',
      ),
    ).not.toThrow()
    const single = markHookLists({ onRequest: [mine] })
    expect(() => checkHookLists({ ...single, onRequest: mine }, 'x')).not.toThrow()
  })

  it('ignores options without marked lists', () => {
    expect(() =>
      checkHookLists({ onRequest: [hook()], [Symbol('other')]: { onRequest: [hook()] } }, 'x'),
    ).not.toThrow()
  })
})

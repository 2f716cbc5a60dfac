import { describe, expect, it } from 'vitest'
import { closeObjects } from '../src/compiler.js'
import { projectionOf } from '../src/response.js'
import { checkJsonValue, parseJsonBytes } from '../src/safe-json.js'

const limits = { maxDepth: 32, maxKeys: 1000, maxArrayLength: 10_000, allowUnsafeNumbers: false }
const bytes = (text: string) => new TextEncoder().encode(text)
const codeOf = (text: string, l = limits) => {
  try {
    parseJsonBytes(bytes(text), l)
    return 'ok'
  } catch (err) {
    return (err as { code?: string }).code
  }
}

describe('the safe JSON parser', () => {
  it('parses ordinary JSON and keeps the last of duplicate keys, as JSON.parse does', () => {
    expect(parseJsonBytes(bytes('{"a":1,"a":2,"b":[true,null,"x"]}'), limits)).toEqual({
      a: 2,
      b: [true, null, 'x'],
    })
  })

  it('refuses prototype keys wherever they are', () => {
    for (const text of [
      '{"__proto__":{}}',
      '{"a":[{"__proto__":1}]}',
      '{"constructor":{"prototype":{}}}',
      '[{"constructor":{"prototype":1}}]',
    ]) {
      expect(codeOf(text), text).toBe('validation.forbidden_key')
    }
    expect(codeOf('{"constructor":{"name":"x"}}')).toBe('ok')
    expect(codeOf('{"prototype":{}}')).toBe('ok')
  })

  it('refuses numbers that lost their value, unless allowed', () => {
    for (const n of ['1e309', '-1e309', '9007199254740992', '1e16'])
      expect(codeOf(`[${n}]`), n).toBe('validation.unsafe_number')
    expect(codeOf('9007199254740991')).toBe('ok')
    expect(codeOf('1.5e300')).toBe('validation.unsafe_number')
    expect(codeOf('0.1')).toBe('ok')
    expect(codeOf('-0')).toBe('ok')
    expect(codeOf('1e309', { ...limits, allowUnsafeNumbers: true })).toBe('ok')
  })

  it('refuses documents deeper, wider or longer than the limits', () => {
    expect(codeOf('['.repeat(33) + ']'.repeat(33))).toBe('validation.body_too_complex')
    expect(codeOf('['.repeat(32) + ']'.repeat(32))).toBe('ok')
    expect(
      codeOf(JSON.stringify(Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])))),
    ).toBe('validation.body_too_complex')
    expect(codeOf(JSON.stringify(Array.from({ length: 10_001 }, () => 0)))).toBe(
      'validation.body_too_complex',
    )
    expect(codeOf('['.repeat(100_000) + ']'.repeat(100_000))).toBe('validation.body_too_complex')
  })

  it('refuses malformed JSON and invalid UTF-8 without quoting them', () => {
    for (const text of ['{"secret":"s3cr3t"', '', 'undefined', "{'a':1}"]) {
      let err: unknown
      try {
        parseJsonBytes(bytes(text), limits)
      } catch (e) {
        err = e
      }
      expect((err as { code: string }).code).toBe('request.malformed_body')
      expect((err as Error).message).not.toContain('s3cr3t')
    }
    expect(() => parseJsonBytes(new Uint8Array([0x22, 0xc3, 0x28, 0x22]), limits)).toThrow(/not valid JSON/)
  })

  it('checks scalars at the top level too', () => {
    expect(checkJsonValue(Number.POSITIVE_INFINITY, limits)?.code).toBe('validation.unsafe_number')
    expect(checkJsonValue('x', limits)).toBeUndefined()
  })
})

describe('unknown properties refused by default', () => {
  it('closes every object schema with properties that says nothing of other properties', () => {
    expect(
      closeObjects({
        type: 'object',
        properties: {
          a: { type: 'object', properties: { b: { type: 'string' } } },
          list: { type: 'array', items: { type: 'object', properties: {} } },
        },
      }),
    ).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        a: { type: 'object', properties: { b: { type: 'string' } }, additionalProperties: false },
        list: { type: 'array', items: { type: 'object', properties: {}, additionalProperties: false } },
      },
    })
  })

  it('leaves open schemas and the members of compositions as written', () => {
    const open = { type: 'object', properties: { a: {} }, additionalProperties: { type: 'string' } }
    expect(closeObjects(open)).toEqual(open)
    const composed = {
      allOf: [
        { type: 'object', properties: { a: {} } },
        { type: 'object', properties: { b: {} } },
      ],
    }
    expect(closeObjects(composed)).toEqual(composed)
  })
})

describe('the projection of a response schema', () => {
  it('lists declared properties recursively, through arrays, compositions and local refs', () => {
    expect(
      projectionOf({
        type: 'object',
        properties: {
          id: { type: 'string' },
          owner: { $ref: '#/$defs/user' },
          items: { type: 'array', items: { type: 'object', properties: { n: { type: 'number' } } } },
          extra: {
            allOf: [
              { type: 'object', properties: { x: {} } },
              { type: 'object', properties: { y: {} } },
            ],
          },
          meta: { type: 'object', additionalProperties: { type: 'object', properties: { v: {} } } },
        },
        $defs: { user: { type: 'object', properties: { id: { type: 'string' } } } },
      }),
    ).toEqual({
      id: true,
      owner: { id: true },
      items: { n: true },
      extra: { x: true, y: true },
      meta: { '*': { v: true } },
    })
  })

  it('keeps nothing of an object schema without properties, and everything of a scalar', () => {
    expect(projectionOf({ type: 'object' })).toEqual({})
    expect(projectionOf({ type: 'string' })).toBe(true)
  })

  it('stops a recursive schema at a bounded depth', () => {
    const tree = projectionOf({ type: 'object', properties: { child: { $ref: '#' } } })
    let depth = 0
    for (
      let at: unknown = tree;
      typeof at === 'object' && at !== null && 'child' in at;
      at = (at as { child: unknown }).child
    )
      depth++
    expect(depth).toBeGreaterThan(5)
    expect(depth).toBeLessThan(40)
  })
})

import { describe, expect, it } from 'vitest'
import { policyField, ServiceLimitItems, secondsUntil } from '../src/headers.js'
import { rateLimit } from '../src/index.js'
import { context } from './support.js'

/**
 * An RFC 8941 list of items whose value is an sf-string and whose parameters are integers or
 * strings: the grammar draft-ietf-httpapi-ratelimit-headers gives both fields.
 */
const PARAM = ';[a-z*][a-z0-9_.*-]*=(?:\\d{1,15}|"[^"\\\\]*")'
const ITEM = `"[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]*"(?:${PARAM})*`
const SF_LIST = new RegExp(`^${ITEM}(?:, ${ITEM})*$`)

function parseList(field: string): Array<{ name: string; params: Record<string, number> }> {
  return field.split(', ').map((item) => {
    const [name, ...params] = item.split(';')
    return {
      name: JSON.parse(name!),
      params: Object.fromEntries(params.map((p) => [p.split('=')[0]!, Number(p.split('=')[1])])),
    }
  })
}

describe('RateLimit header fields', () => {
  it('writes RateLimit-Policy as a structured list with q and w per policy', () => {
    const field = policyField([
      { name: 'burst', points: 10, duration: 1 },
      { name: 'hourly', points: 1000, duration: 3600 },
    ])
    expect(field).toBe('"burst";q=10;w=1, "hourly";q=1000;w=3600')
    expect(field).toMatch(SF_LIST)
  })

  it('writes a RateLimit item with the remaining quota and the seconds left, never negative', () => {
    const items = new ServiceLimitItems({ name: 'default', points: 100, duration: 60 })
    expect(items.item(42, 17)).toBe('"default";r=42;t=17')
    expect(items.item(-3, 5)).toBe('"default";r=0;t=5')
    expect(items.item(0, 0)).toMatch(SF_LIST)
  })

  it('rounds the seconds left up and stops at zero', () => {
    expect(secondsUntil(10_001, 0)).toBe(11)
    expect(secondsUntil(10_000, 0)).toBe(10)
    expect(secondsUntil(5, 10)).toBe(0)
  })

  it('sends both fields from a guard with one item per window, in the draft syntax', () => {
    const guard = rateLimit({
      name: 'api',
      windows: [
        { points: 3, duration: 1, name: 'burst' },
        { points: 100, duration: 3600 },
      ],
    })
    const ctx = context()
    guard(ctx)
    expect(ctx.headers['ratelimit-policy']).toBe('"burst";q=3;w=1, "api-3600s";q=100;w=3600')
    expect(ctx.headers.ratelimit).toMatch(SF_LIST)
    expect(ctx.headers['ratelimit-policy']).toMatch(SF_LIST)
    const items = parseList(ctx.headers.ratelimit!)
    expect(items.map((i) => i.name)).toEqual(['burst', 'api-3600s'])
    expect(items[0]!.params).toEqual({ r: 2, t: 1 })
    expect(items[1]!.params.r).toBe(99)
    expect(items[1]!.params.t).toBeGreaterThan(3500)
    expect(items[1]!.params.t).toBeLessThanOrEqual(3600)
  })

  it('sends the legacy X-RateLimit fields for the tightest window only when asked', () => {
    const plain = context()
    rateLimit({ points: 5, duration: 60 })(plain)
    expect(plain.headers['x-ratelimit-limit']).toBeUndefined()

    const guard = rateLimit({
      windows: [
        { points: 100, duration: 60 },
        { points: 2, duration: 10 },
      ],
      legacyHeaders: true,
      standardHeaders: false,
    })
    const ctx = context()
    guard(ctx)
    expect(ctx.headers).toEqual({
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '1',
      'x-ratelimit-reset': '10',
    })
  })
})

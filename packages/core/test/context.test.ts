import {
  configureWarnings,
  newRequestId,
  requestIdFrom,
  type SecurityEvent,
  SecurityEventBus,
} from '@apiward/core'
import { Unauthorized } from '@apiward/errors'
import { describe, expect, it, vi } from 'vitest'
import { testContext } from './support.js'

describe('SecurityContext', () => {
  it('hands headers to the adapter binding at once', () => {
    const ctx = testContext()
    ctx.setHeader('RateLimit', '"default";r=1;t=2')
    expect(ctx.binding.headers).toEqual({ RateLimit: '"default";r=1;t=2' })
  })

  it('asks the adapter to hook serialisation only once, on the first transformer', () => {
    const ctx = testContext()
    expect(ctx.hasSendTransforms).toBe(false)
    ctx.onSend((body) => ({ ...(body as object), a: 1 }))
    ctx.onSend((body) => ({ ...(body as object), b: 2 }))
    expect(ctx.binding.intercepts).toBe(1)
    expect(ctx.transformBody({ x: 0 }, 200)).toEqual({ x: 0, a: 1, b: 2 })
  })

  it('hands transformers the status, in registration order', () => {
    const ctx = testContext()
    const seen: Array<[string, number]> = []
    ctx.onSend((body, _ctx, status) => {
      seen.push(['first', status])
      return status === 200 ? { filtered: true } : body
    })
    ctx.onSend((body, _ctx, status) => {
      seen.push(['second', status])
      return body
    })
    expect(ctx.transformBody({ secret: 1 }, 404)).toEqual({ secret: 1 })
    expect(ctx.transformBody({ secret: 1 }, 200)).toEqual({ filtered: true })
    expect(seen).toEqual([
      ['first', 404],
      ['second', 404],
      ['first', 200],
      ['second', 200],
    ])
  })

  it('calls finish listeners exactly once with the outcome', () => {
    const ctx = testContext()
    const listener = vi.fn()
    ctx.onFinish(listener)
    ctx.onFinish(listener)
    expect(ctx.binding.watches).toBe(1)
    ctx.finish(204, false)
    ctx.finish(500, true)
    expect(listener).toHaveBeenCalledTimes(2)
    expect(listener.mock.calls[0]![0]).toMatchObject({ status: 204, aborted: false })
  })

  it('keeps calling finish listeners when one throws, and reports it as an event', () => {
    const events = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    events.on((e) => seen.push(e))
    const ctx = testContext({ events })
    const after = vi.fn()
    ctx.onFinish(() => {
      throw new Error('listener bug')
    })
    ctx.onFinish(after)
    ctx.finish(200, false)
    expect(after).toHaveBeenCalledOnce()
    expect(seen.map((e) => e.type)).toContain('server.listener_error')
  })

  it('stores per-request values under the keys of their guards', () => {
    const ctx = testContext()
    const key = Symbol('mine')
    expect(ctx.get(key)).toBeUndefined()
    ctx.set(key, 42)
    expect(ctx.get<number>(key)).toBe(42)
  })

  it('enriches events with the request and the principal', () => {
    const events = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    events.on((e) => seen.push(e))
    const ctx = testContext({ url: '/a/../notes?q=1', events })
    ctx.principal = { id: 'alice', kind: 'user', scopes: [], roles: [], claims: {}, credential: 'jwt' }
    ctx.emit('test.happened', { code: 'test.ok' })
    expect(seen[0]).toMatchObject({
      type: 'test.happened',
      requestId: 'req-1',
      method: 'GET',
      path: '/notes',
      ip: '127.0.0.1',
      principal: 'alice',
      code: 'test.ok',
      severity: 'info',
    })
  })

  it('emits the raw path when the path is malformed', () => {
    const events = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    events.on((e) => seen.push(e))
    testContext({ url: '/%zz', events }).emit('test.happened')
    expect(seen[0]!.path).toBe('/%zz')
  })

  it('renders errors with its request ID and remembers the error for the outcome', () => {
    const ctx = testContext()
    const rendered = ctx.renderError(new Unauthorized({ code: 'auth.missing_token' }))
    expect(rendered.body.requestId).toBe('req-1')
    expect(ctx.error?.code).toBe('auth.missing_token')
  })
})

describe('SecurityEventBus', () => {
  it('isolates a throwing listener from the others', () => {
    const bus = new SecurityEventBus()
    const good = vi.fn()
    const logger = vi.fn()
    configureWarnings({ logger })
    bus.on(() => {
      throw new Error('bad listener')
    })
    bus.on(good)
    bus.emit({ type: 'test.happened', time: 0, severity: 'info' })
    configureWarnings()
    expect(good).toHaveBeenCalledOnce()
    expect(logger).toHaveBeenCalledOnce()
    expect(logger.mock.calls[0]![0]).toBe('APIWARD_LISTENER_ERROR')
  })

  it('unsubscribes', () => {
    const bus = new SecurityEventBus()
    const listener = vi.fn()
    const off = bus.on(listener)
    expect(bus.hasListeners).toBe(true)
    off()
    expect(bus.hasListeners).toBe(false)
    bus.emit({ type: 'test.happened', time: 0, severity: 'info' })
    expect(listener).not.toHaveBeenCalled()
  })
})

const GENERATED_ID = /^[A-Za-z0-9_-]{22}$/

describe('requestIdFrom', () => {
  it('echoes a well-formed ID', () => {
    expect(requestIdFrom('abc.DEF_1-2')).toBe('abc.DEF_1-2')
  })

  it.each(['', 'a b', 'x'.repeat(129), 'a\r\nb', 'é'])('replaces %j with a fresh ID', (bad) => {
    expect(requestIdFrom(bad)).toMatch(GENERATED_ID)
  })

  it('generates distinct IDs of 22 base64url characters, across refills of the random pool', () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId())
    expect(new Set(ids).size).toBe(1000)
    for (const id of ids) expect(id).toMatch(GENERATED_ID)
  })

  it('draws every character of an ID uniformly from the 64 base64url characters', () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 4000; i++) for (const c of newRequestId()) counts.set(c, (counts.get(c) ?? 0) + 1)
    // 88000 characters, 1375 expected of each: a biased mapping (a modulo of 62, say) would miss
    // characters or double some.
    expect(counts.size).toBe(64)
    for (const n of counts.values()) expect(n).toBeGreaterThan(1100)
    for (const n of counts.values()) expect(n).toBeLessThan(1650)
  })

  it('replaces a missing or repeated header', () => {
    expect(requestIdFrom(undefined)).toMatch(GENERATED_ID)
    expect(requestIdFrom(['a', 'b'])).toMatch(GENERATED_ID)
  })
})

describe('typed state', () => {
  it('keeps every key apart, however many a request stores, and a second set replaces the value', async () => {
    const { createKey } = await import('@apiward/core')
    const ctx = testContext()
    // Beyond the two fields, the list and the Map for entries past the list.
    const keys = Array.from({ length: 40 }, (_, i) => createKey<number>(`k${i}`))
    for (const [i, key] of keys.entries()) ctx.set(key, i)
    for (const i of [1, 4, 20, 39]) ctx.set(keys[i]!, i * 10)
    ctx.set('plain', 'p')
    expect(keys.map((key) => ctx.get(key))).toEqual(
      keys.map((_, i) => ([1, 4, 20, 39].includes(i) ? i * 10 : i)),
    )
    expect(ctx.get('plain')).toBe('p')
    expect(ctx.get(createKey<number>('k0'))).toBeUndefined()
  })

  it('stores and reads a value under a typed key, and keys of the same name stay apart', async () => {
    const { createKey } = await import('@apiward/core')
    const ctx = testContext()
    const a = createKey<{ id: number }>('note')
    const b = createKey<{ id: number }>('note')
    expect(ctx.get(a)).toBeUndefined()
    ctx.set(a, { id: 1 })
    expect(ctx.get(a)).toEqual({ id: 1 })
    expect(ctx.get(b)).toBeUndefined()
  })

  it('refuses a key without a name', async () => {
    const { createKey } = await import('@apiward/core')
    expect(() => createKey('')).toThrow(/non-empty string/)
  })
})

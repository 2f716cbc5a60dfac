import { configureWarnings, resetWarnings, type SecurityContext } from '@apiward/core'
import { bruteForce, ipFilter, ipKeyOf, rateLimit } from '@apiward/ratelimit'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { context, outcomeOf, type RequestSpec, type TestContext } from './support.js'

const warnings: Array<{ code?: string; message: string; docs?: string }> = []
const onWarning = (code: string, message: string, docs: string | undefined) =>
  warnings.push({ code, message, docs })
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeAll(() => {
  configureWarnings({ logger: onWarning })
  process.on('unhandledRejection', onUnhandled)
})
afterAll(() => {
  configureWarnings()
  process.off('unhandledRejection', onUnhandled)
})
beforeEach(() => {
  resetWarnings()
  warnings.length = 0
})
const settle = () => new Promise((r) => setTimeout(r, 10))
const warned = async (code: string) => {
  await settle()
  return warnings.filter((w) => w.code === code)
}

type AnyGuard = (ctx: SecurityContext) => unknown

/** Runs a guard and expects the documented refusal of a failed callback, with its event. */
async function expectCallbackRefusal(guard: AnyGuard, callback: string, spec: RequestSpec = {}) {
  const ctx: TestContext = context(spec)
  const err = await outcomeOf(guard, ctx)
  expect(err?.status).toBe(503)
  expect(err?.code).toBe('ratelimit.unavailable')
  expect(err?.headers?.['Retry-After']).toBe('1')
  const events = ctx.seen.filter((e) => e.type === 'ratelimit.error')
  expect(events).toHaveLength(1)
  expect(events[0]).toMatchObject({ severity: 'error', callback })
  return ctx
}

const boom = () => {
  throw new Error('boom')
}
const later = <T>(value: T) => Promise.resolve(value)
const rejected = () => Promise.reject(new Error('async boom'))

describe('rateLimit() skip', () => {
  it('refuses the request when skip throws, instead of skipping it', async () => {
    await expectCallbackRefusal(rateLimit({ points: 100, duration: 60, skip: boom }), 'skip')
  })

  it('refuses the request and names the fix when skip answers a promise, which rejects unheard', async () => {
    const guard = rateLimit({ points: 100, duration: 60, skip: rejected as never })
    await expectCallbackRefusal(guard, 'skip')
    const async = await warned('APIWARD_ASYNC_CALLBACK')
    expect(async).toHaveLength(1)
    expect(async[0]!.message).toContain('rateLimit() skip returned a promise')
    expect(async[0]!.docs).toBe('ratelimit.md#callbacks')
    expect(unhandled).toEqual([])
  })

  it('refuses the request when skip answers something that is not a boolean', async () => {
    await expectCallbackRefusal(rateLimit({ points: 100, duration: 60, skip: () => 'yes' as never }), 'skip')
    expect(await warned('APIWARD_CALLBACK_VALUE')).toHaveLength(1)
  })

  it('counts the request when skip answers false or undefined', () => {
    const guard = rateLimit({ points: 1, duration: 60, skip: () => undefined as never })
    guard(context())
    expect(() => guard(context())).toThrow(/Too many requests/)
  })
})

describe('rateLimit() key function', () => {
  it('refuses the request when the key function throws, and keeps other clients apart', async () => {
    const guard = rateLimit({
      points: 1,
      duration: 60,
      key: (ctx) => {
        const tenant = ctx.req.header('x-tenant')
        if (tenant === 'bad') throw new Error('unreadable tenant')
        return tenant
      },
    })
    for (let i = 0; i < 3; i++) await expectCallbackRefusal(guard, 'key', { headers: { 'x-tenant': 'bad' } })
    expect(await outcomeOf(guard, context({ headers: { 'x-tenant': 't1' } }))).toBeUndefined()
    expect(await outcomeOf(guard, context({ headers: { 'x-tenant': 't2' } }))).toBeUndefined()
  })

  it('refuses the request and names the fix when the key function answers a promise', async () => {
    await expectCallbackRefusal(rateLimit({ points: 9, duration: 60, key: () => later('t') as never }), 'key')
    expect(await warned('APIWARD_ASYNC_CALLBACK')).toHaveLength(1)
  })

  it('refuses the request when the key function answers an object', async () => {
    await expectCallbackRefusal(rateLimit({ points: 9, duration: 60, key: () => ({}) as never }), 'key')
    expect(await warned('APIWARD_CALLBACK_VALUE')).toHaveLength(1)
  })

  // Before the test that warns: the check stops once it has warned.
  it('groups IPv6 clients by /64 in a key function that answers ipKeyOf(), without a warning', async () => {
    const grouped = rateLimit({
      points: 1,
      duration: 60,
      key: (ctx) => ctx.principal?.id ?? ipKeyOf(ctx.req.ip),
    })
    grouped(context({ ip: '2001:db8:1:2::5' }))
    expect(() => grouped(context({ ip: '2001:db8:1:2:ffff::6' }))).toThrow(/Too many requests/)
    expect(await outcomeOf(grouped, context({ ip: '2001:db8:1:3::5' }))).toBeUndefined()
    expect(await warned('APIWARD_IPV6_KEY')).toHaveLength(0)
  })

  it('warns once when a key function answers a full IPv6 address', async () => {
    const raw = rateLimit({ points: 9, duration: 60, key: (ctx) => ctx.req.ip })
    raw(context({ ip: '2001:db8:1:2::5' }))
    raw(context({ ip: '2001:db8:1:2::6' }))
    const ipv6 = await warned('APIWARD_IPV6_KEY')
    expect(ipv6).toHaveLength(1)
    expect(ipv6[0]!.message).toContain('ipKeyOf(ip)')
  })
})

describe('rateLimit() cost function', () => {
  it('refuses the request when cost throws', async () => {
    await expectCallbackRefusal(rateLimit({ points: 9, duration: 60, cost: boom }), 'cost')
  })

  it('refuses the request and names the fix when cost answers a promise', async () => {
    await expectCallbackRefusal(rateLimit({ points: 9, duration: 60, cost: () => later(1) as never }), 'cost')
    expect(await warned('APIWARD_ASYNC_CALLBACK')).toHaveLength(1)
  })

  it('refuses the request when cost answers a fraction, and says what it answered', async () => {
    await expectCallbackRefusal(rateLimit({ points: 9, duration: 60, cost: () => 1.5 }), 'cost')
    const value = await warned('APIWARD_CALLBACK_VALUE')
    expect(value[0]!.message).toContain('returned the number 1.5; it must return a non-negative integer')
  })
})

describe('ipFrom', () => {
  it('refuses the request when ipFrom throws, in rateLimit() and ipFilter()', async () => {
    await expectCallbackRefusal(rateLimit({ points: 9, duration: 60, ipFrom: boom }), 'ipFrom')
    await expectCallbackRefusal(ipFilter({ allow: ['10.0.0.0/8'], ipFrom: boom }), 'ipFrom')
  })

  it('refuses the request and names the fix when ipFrom answers a promise', async () => {
    const guard = rateLimit({ points: 9, duration: 60, ipFrom: () => later('198.51.100.1') as never })
    await expectCallbackRefusal(guard, 'ipFrom')
    expect(await warned('APIWARD_ASYNC_CALLBACK')).toHaveLength(1)
  })

  it('refuses the request when ipFrom answers something that is not a string', async () => {
    await expectCallbackRefusal(
      rateLimit({ points: 9, duration: 60, ipFrom: () => ['1.2.3.4'] as never }),
      'ipFrom',
    )
  })
})

describe('bruteForce() callbacks', () => {
  it('refuses the attempt when username throws', async () => {
    await expectCallbackRefusal(bruteForce({ username: boom }), 'username')
  })

  it('refuses the attempt and names the fix when username answers a promise', async () => {
    await expectCallbackRefusal(bruteForce({ username: () => later('alice') as never }), 'username')
    expect(await warned('APIWARD_ASYNC_CALLBACK')).toHaveLength(1)
  })

  /** Attempts that end 401 under a verdict option; returns the status of the next attempt. */
  async function afterFailures(verdict: (...args: never[]) => unknown, n: number) {
    const guard = bruteForce({ maxConsecutiveFailures: n, verdict: verdict as never })
    const reports: TestContext[] = []
    for (let i = 0; i < n; i++) {
      const ctx = context({ body: { username: 'alice' } })
      expect(await outcomeOf(guard, ctx)).toBeUndefined()
      ctx.finish(200, false)
      reports.push(ctx)
    }
    const next = context({ body: { username: 'alice' } })
    return { status: (await outcomeOf(guard, next))?.status ?? 200, reports }
  }

  it('counts an attempt as a failure when verdict throws, and reports it', async () => {
    const { status, reports } = await afterFailures(boom, 2)
    expect(status).toBe(429)
    expect(reports[0]!.seen.find((e) => e.type === 'ratelimit.error')).toMatchObject({ callback: 'verdict' })
  })

  it('counts an attempt as a failure when verdict answers a promise, and names the fix', async () => {
    const { status } = await afterFailures(() => later('success'), 2)
    expect(status).toBe(429)
    expect(await warned('APIWARD_ASYNC_CALLBACK')).toHaveLength(1)
  })

  it('counts an attempt as a failure when verdict answers something other than a verdict', async () => {
    const { status } = await afterFailures(() => 'ok', 2)
    expect(status).toBe(429)
    const value = await warned('APIWARD_CALLBACK_VALUE')
    expect(value[0]!.message).toContain("must return 'success', 'failure' or 'ignore'")
  })
})

import { configureWarnings } from '@apiward/core'
import { bruteForce, ipFilter, rateLimit } from '@apiward/ratelimit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { context, outcomeOf } from './support.js'

const warnings: Array<{ code?: string; message: string; docs?: string }> = []
const onWarning = (code: string, message: string, docs: string | undefined) =>
  warnings.push({ code, message, docs })
beforeAll(() => {
  configureWarnings({ logger: onWarning })
})
afterAll(() => {
  configureWarnings()
})
const tick = () => new Promise((r) => setImmediate(r))

describe('client IP', () => {
  it('warns once when X-Forwarded-For arrives from a proxy that is not trusted, a public one (a CDN) included', async () => {
    const guard = rateLimit({ points: 100, duration: 60 })
    guard(context({ ip: '127.0.0.1', headers: { 'x-forwarded-for': '198.51.100.1, 127.0.0.1' } }))
    expect(warnings.filter((w) => w.code === 'APIWARD_UNTRUSTED_PROXY')).toHaveLength(0)
    guard(context({ ip: '203.0.113.5', headers: { 'x-forwarded-for': '198.51.100.1' } }))
    guard(context({ ip: '10.0.0.3', headers: { 'x-forwarded-for': '198.51.100.2' } }))
    await tick()
    const untrusted = warnings.filter((w) => w.code === 'APIWARD_UNTRUSTED_PROXY')
    expect(untrusted).toHaveLength(1)
    expect(untrusted[0]!.message).toContain('203.0.113.5')
    expect(untrusted[0]!.message).toContain('trust proxy')
    expect(untrusted[0]!.docs).toBe('ratelimit.md#the-client-ip')
  })

  it('warns once when the RFC 7239 Forwarded header arrives, which no framework reads', () => {
    const guard = rateLimit({ points: 100, duration: 60 })
    guard(context({ ip: '192.0.2.7', headers: { forwarded: 'for=192.0.2.7;proto=https' } }))
    expect(warnings.filter((w) => w.code === 'APIWARD_FORWARDED_HEADER')).toHaveLength(0)
    guard(context({ ip: '10.0.0.9', headers: { forwarded: 'for="[2001:db8::1]";proto=https' } }))
    guard(context({ ip: '10.0.0.9', headers: { forwarded: 'for=198.51.100.9' } }))
    const forwarded = warnings.filter((w) => w.code === 'APIWARD_FORWARDED_HEADER')
    expect(forwarded).toHaveLength(1)
    expect(forwarded[0]!.message).toContain('ipFrom')
  })

  it('uses a custom ipFrom that reads a header no client can forge past the edge', () => {
    const guard = rateLimit({ points: 1, duration: 60, ipFrom: (ctx) => ctx.req.header('cf-connecting-ip') })
    guard(context({ ip: '10.0.0.1', headers: { 'cf-connecting-ip': '198.51.100.1' } }))
    expect(() =>
      guard(context({ ip: '10.0.0.2', headers: { 'cf-connecting-ip': '198.51.100.1' } })),
    ).toThrow()
    expect(() =>
      guard(context({ ip: '10.0.0.1', headers: { 'cf-connecting-ip': '198.51.100.2' } })),
    ).not.toThrow()
  })

  it('refuses an ipFrom answer taken from X-Forwarded-For, using the framework IP and warning once', async () => {
    const fromXff = (ctx: Parameters<NonNullable<Parameters<typeof rateLimit>[0]['ipFrom']>>[0]) =>
      ctx.req.header('x-forwarded-for')?.split(',')[0]?.trim()
    const guard = rateLimit({ points: 1, duration: 60, ipFrom: fromXff })
    guard(context({ ip: '192.0.2.1', headers: { 'x-forwarded-for': '198.51.100.1' } }))
    expect(() =>
      guard(context({ ip: '192.0.2.1', headers: { 'x-forwarded-for': '198.51.100.2' } })),
    ).toThrow()
    const forwarded = rateLimit({
      points: 1,
      duration: 60,
      ipFrom: (ctx) => ctx.req.header('forwarded')?.slice(4),
    })
    forwarded(context({ ip: '192.0.2.9', headers: { forwarded: 'for=198.51.100.3' } }))
    expect(() =>
      forwarded(context({ ip: '192.0.2.9', headers: { forwarded: 'for=198.51.100.4' } })),
    ).toThrow()
    await tick()
    expect(warnings.filter((w) => w.code === 'APIWARD_FORWARDED_IP_REFUSED')).toHaveLength(1)
  })

  it('accepts an ipFrom reading X-Forwarded-For when told it is dangerous and meant', () => {
    const guard = rateLimit({
      points: 1,
      duration: 60,
      ipFrom: (ctx) => ctx.req.header('x-forwarded-for'),
      dangerouslyTrustForwardedFor: true,
    })
    guard(context({ ip: '192.0.2.1', headers: { 'x-forwarded-for': '198.51.100.1' } }))
    expect(() =>
      guard(context({ ip: '192.0.2.1', headers: { 'x-forwarded-for': '198.51.100.2' } })),
    ).not.toThrow()
  })

  it('refuses options that trust forwarded headers without saying where the IP comes from', () => {
    expect(() => ipFilter({ allow: ['10.0.0.0/8'], dangerouslyTrustForwardedFor: true })).toThrow(
      /trust proxy/,
    )
    expect(() => ipFilter({ allow: ['10.0.0.0/8'], ipFrom: 'x-forwarded-for' as never })).toThrow(/function/)
  })
})

describe('client IP keys', () => {
  it('counts every source port of one address in one bucket', () => {
    const guard = rateLimit({ points: 2, duration: 60 })
    guard(context({ ip: '203.0.113.9:5678' }))
    guard(context({ ip: '203.0.113.9:5679' }))
    expect(() => guard(context({ ip: '203.0.113.9' }))).toThrow(/Too many requests/)
    expect(() => guard(context({ ip: '[2001:db8::1]:443' }))).not.toThrow()
    expect(() => guard(context({ ip: '2001:db8::2' }))).not.toThrow()
    expect(() => guard(context({ ip: '[2001:db8::3]:80' }))).toThrow(/Too many requests/)
  })

  it('counts addresses that are not IPs in one shared bucket, not by their text, and warns once', async () => {
    const guard = rateLimit({ points: 2, duration: 60 })
    guard(context({ ip: 'junk-1' }))
    guard(context({ ip: 'junk-2' }))
    expect(() => guard(context({ ip: 'junk-3' }))).toThrow(/Too many requests/)
    expect(() => guard(context({ ip: '198.51.100.3' }))).not.toThrow()
    await tick()
    const unparsable = warnings.filter((w) => w.code === 'APIWARD_UNPARSABLE_IP')
    expect(unparsable).toHaveLength(1)
    expect(unparsable[0]!.message).toContain('"junk-1"')
    expect(unparsable[0]!.docs).toBe('ratelimit.md#the-client-ip')
  })

  it('warns once about requests without an address, which share one bucket', async () => {
    const guard = rateLimit({ points: 1, duration: 60 })
    guard(context({ ip: undefined }))
    expect(() => guard(context({ ip: undefined }))).toThrow(/Too many requests/)
    await tick()
    expect(warnings.filter((w) => w.code === 'APIWARD_MISSING_IP')).toHaveLength(1)
  })

  it('keys brute-force pairs by the address without its port', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 1 })
    const first = context({ ip: '203.0.113.9:1111', body: { username: 'alice' } })
    await outcomeOf(guard, first)
    first.finish(401, false)
    const second = context({ ip: '203.0.113.9:2222', body: { username: 'alice' } })
    expect((await outcomeOf(guard, second))?.status).toBe(429)
  })

  it('matches allow lists with the address without its port', async () => {
    const guard = ipFilter({ allow: ['10.0.0.0/8'] })
    expect(await outcomeOf(guard, context({ ip: '10.1.2.3:4444' }))).toBeUndefined()
    expect((await outcomeOf(guard, context({ ip: '11.1.2.3:4444' })))?.status).toBe(403)
    const limiter = rateLimit({ points: 1, duration: 60, allowlist: ['10.0.0.0/8'] })
    limiter(context({ ip: '10.1.2.3:1' }))
    expect(() => limiter(context({ ip: '10.1.2.3:2' }))).not.toThrow()
  })
})

describe('ipFilter()', () => {
  it('needs a list and valid ranges', () => {
    expect(() => ipFilter({})).toThrow(/non-empty allow or deny/)
    expect(() => ipFilter({ allow: [] })).toThrow(TypeError)
    expect(() => ipFilter({ deny: ['10.0.0.300'] })).toThrow(/ipFilter\(\) deny/)
    expect(() => ipFilter({ whitelist: ['10.0.0.0/8'] } as never)).toThrow(/did you mean "allow"/)
  })

  it('lets allowed ranges through and refuses others with ipfilter.denied', async () => {
    const guard = ipFilter({ allow: ['10.0.0.0/8', '2001:db8::/32'] })
    expect(await outcomeOf(guard, context({ ip: '10.9.8.7' }))).toBeUndefined()
    expect(await outcomeOf(guard, context({ ip: '::ffff:10.9.8.7' }))).toBeUndefined()
    expect(await outcomeOf(guard, context({ ip: '2001:db8:1::1' }))).toBeUndefined()
    const ctx = context({ ip: '192.0.2.1' })
    const err = await outcomeOf(guard, ctx)
    expect(err?.status).toBe(403)
    expect(err?.code).toBe('ipfilter.denied')
    expect(ctx.seen.map((e) => e.type)).toEqual(['ipfilter.denied'])
  })

  it('lets deny win over allow and refuses unknown or unreadable IPs', async () => {
    const guard = ipFilter({ allow: ['10.0.0.0/8'], deny: ['10.6.6.0/24'] })
    expect((await outcomeOf(guard, context({ ip: '10.6.6.6' })))?.status).toBe(403)
    expect((await outcomeOf(guard, context({ ip: undefined })))?.status).toBe(403)
    expect((await outcomeOf(guard, context({ ip: 'garbage' })))?.status).toBe(403)
    const denyOnly = ipFilter({ deny: ['2001:db8:bad::/48'] })
    expect(await outcomeOf(denyOnly, context({ ip: '192.0.2.1' }))).toBeUndefined()
    expect((await outcomeOf(denyOnly, context({ ip: '2001:db8:bad:1::9' })))?.status).toBe(403)
  })
})

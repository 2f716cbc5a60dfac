import { apiKey, generateApiKey } from '@apiward/auth'
import { configureWarnings, type Guard } from '@apiward/core'
import { ipKeyOf, rateLimit } from '@apiward/ratelimit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { AppSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import {
  byStatus,
  concurrently,
  hasRetryAfter,
  inSequence,
  isProblem,
  recordingBus,
  via,
  watchUnhandled,
} from './support.js'

const warnings: Array<{ code?: string }> = []
const onWarning = (code: string) => warnings.push({ code })
const unhandled = watchUnhandled()
beforeAll(() => {
  configureWarnings({ logger: onWarning })
})
afterAll(() => {
  configureWarnings()
  unhandled.stop()
  expect(unhandled.rejections).toEqual([])
})

const keyA = generateApiKey({ prefix: 'ak_test' })
const keyB = generateApiKey({ prefix: 'ak_test' })
const apiKeys = apiKey({ prefix: 'ak_test', keys: [keyA, keyB].map(({ id, hash }) => ({ id, hash })) })
const invented = (i: number) => ({
  headers: { 'X-API-Key': `ak_test_${String(i).padStart(22, '0')}_made_up` },
})

const authenticatesFromHeader: Guard = (ctx) => {
  const user = ctx.req.header('x-user')
  if (user !== undefined) {
    ctx.principal = { id: user, kind: 'user', scopes: [], roles: [], claims: {}, credential: 'jwt' }
  }
}

describe.each(harnesses)('rateLimit() on the memory store through $name', (harness) => {
  const servers: RunningServer[] = []
  const start = async (spec: AppSpec) => {
    const server = await harness.start(spec)
    servers.push(server)
    return server.url
  }
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  it('lets exactly N of 100 concurrent requests through a limit of N', async () => {
    const url = await start({
      routes: [{ method: 'GET', path: '/r', guards: [rateLimit({ points: 10, duration: 60 })] }],
    })
    const answers = await concurrently(100, `${url}/r`)
    expect(byStatus(answers)).toEqual({ 200: 10, 429: 90 })
    for (const a of answers.filter((x) => x.status === 429)) {
      expect(isProblem(a, 429, 'ratelimit.exceeded')).toBe(true)
      expect(hasRetryAfter(a)).toBe(true)
    }
  })

  it('sends RateLimit-Policy and RateLimit on successes and refusals', async () => {
    const url = await start({
      routes: [{ method: 'GET', path: '/r', guards: [rateLimit({ points: 2, duration: 60 })] }],
    })
    const [first, second, third] = await inSequence(3, `${url}/r`)
    expect(first!.headers['ratelimit-policy']).toBe('"default";q=2;w=60')
    expect(first!.headers.ratelimit).toBe('"default";r=1;t=60')
    expect(second!.headers.ratelimit).toMatch(/^"default";r=0;t=(59|60)$/)
    expect(third!.status).toBe(429)
    expect(third!.headers['ratelimit-policy']).toBe('"default";q=2;w=60')
    expect(third!.headers.ratelimit).toMatch(/^"default";r=0;t=(59|60)$/)
    expect(Number(third!.headers['retry-after'])).toBeGreaterThanOrEqual(
      Number(/t=(\d+)/.exec(String(third!.headers.ratelimit))![1]),
    )
  })

  it('describes burst and sustained windows together and sends legacy fields when asked', async () => {
    const guard = rateLimit({
      name: 'api',
      windows: [
        { points: 2, duration: 1, name: 'burst' },
        { points: 50, duration: 3600, name: 'hourly' },
      ],
      legacyHeaders: true,
    })
    const url = await start({ routes: [{ method: 'GET', path: '/r', guards: [guard] }] })
    const answers = await inSequence(3, `${url}/r`)
    expect(answers[0]!.headers['ratelimit-policy']).toBe('"burst";q=2;w=1, "hourly";q=50;w=3600')
    expect(answers[0]!.headers.ratelimit).toMatch(/^"burst";r=1;t=1, "hourly";r=49;t=36\d\d$/)
    expect(answers[0]!.headers['x-ratelimit-limit']).toBe('2')
    expect(answers[0]!.headers['x-ratelimit-remaining']).toBe('1')
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429])
  })

  it('counts /login, /LOGIN, /login/ and /%6cogin in one bucket when keyed by path on a router that folds case and slashes', async () => {
    const url = await start({
      routing: { caseSensitive: false, strictSlash: false },
      appGuards: [rateLimit({ points: 4, duration: 60, key: 'path' })],
      routes: [{ method: 'GET', path: '/login' }],
    })
    const spellings = ['/login', '/LOGIN', '/login/', '/%6cogin']
    const answers = []
    for (const path of spellings) answers.push(await send(url + path))
    expect(answers.map((a) => a.status)).not.toContain(429)
    for (const path of spellings) expect((await send(url + path)).status).toBe(429)
  })

  it('counts every address of one IPv6 /64 as one client, and another /64 apart', async () => {
    const url = await start({
      trustProxy: 1,
      routes: [{ method: 'GET', path: '/r', guards: [rateLimit({ points: 5, duration: 60 })] }],
    })
    const rotated = await inSequence(8, `${url}/r`, (i) =>
      via(`2001:db8:a:b:${(i * 7919).toString(16)}::${i + 1}`),
    )
    expect(rotated.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
    expect((await send(`${url}/r`, via('2001:db8:a:c::1'))).status).toBe(200)
  })

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', async () => {
    const url = await start({
      trustProxy: 1,
      routes: [{ method: 'GET', path: '/r', guards: [rateLimit({ points: 1, duration: 60 })] }],
    })
    expect((await send(`${url}/r`, via('::ffff:198.51.100.7'))).status).toBe(200)
    expect((await send(`${url}/r`, via('198.51.100.7'))).status).toBe(429)
  })

  it('ignores a forged X-Forwarded-For when no proxy is trusted, and warns once', async () => {
    const url = await start({
      routes: [{ method: 'GET', path: '/r', guards: [rateLimit({ points: 3, duration: 60 })] }],
    })
    const answers = await inSequence(5, `${url}/r`, (i) => via(`198.51.100.${i + 1}`))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429])
    await new Promise((r) => setImmediate(r))
    expect(warnings.filter((w) => w.code === 'APIWARD_UNTRUSTED_PROXY')).toHaveLength(1)
  })

  it('counts the address the trusted proxy saw, whatever the client put before it', async () => {
    const url = await start({
      trustProxy: 1,
      routes: [{ method: 'GET', path: '/r', guards: [rateLimit({ points: 3, duration: 60 })] }],
    })
    const answers = await inSequence(5, `${url}/r`, (i) => via('203.0.113.50', `198.51.100.${i + 1}`))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429])
    expect((await send(`${url}/r`, via('203.0.113.51', '203.0.113.50'))).status).toBe(200)
  })

  it('never limits allowlisted clients, nor skipped requests', async () => {
    const guard = rateLimit({
      points: 1,
      duration: 60,
      allowlist: ['10.0.0.0/8'],
      skip: (ctx) => ctx.req.header('x-probe') === '1',
    })
    const url = await start({ trustProxy: 1, routes: [{ method: 'GET', path: '/r', guards: [guard] }] })
    expect((await inSequence(3, `${url}/r`, () => via('10.2.3.4'))).map((a) => a.status)).toEqual([
      200, 200, 200,
    ])
    expect(
      (await inSequence(3, `${url}/r`, () => ({ headers: { 'x-probe': '1' } }))).map((a) => a.status),
    ).toEqual([200, 200, 200])
    expect((await inSequence(2, `${url}/r`, () => via('192.0.2.4'))).map((a) => a.status)).toEqual([200, 429])
  })

  it('consumes nothing for a request refused because its cost exceeds what is left', async () => {
    const url = await start({
      routes: [
        {
          method: 'GET',
          path: '/r',
          guards: [
            rateLimit({ points: 20, duration: 60, cost: (ctx) => Number(ctx.req.header('x-cost') ?? 1) }),
          ],
        },
      ],
    })
    const answers = await inSequence(4, `${url}/r`, (i) => ({
      headers: { 'x-cost': String([1, 20, 1, 18][i]) },
    }))
    expect(answers.map((a) => a.status)).toEqual([200, 429, 200, 200])
    expect(answers[1]!.headers.ratelimit).toMatch(/^"default";r=19;t=\d+$/)
  })

  it('counts invented API keys by the client IP before apiKey(), and each verified key after it', async () => {
    const url = await start({
      routes: [
        {
          method: 'GET',
          path: '/before',
          guards: [rateLimit({ name: 'b', points: 3, duration: 60, key: 'apiKey' }), apiKeys],
        },
        {
          method: 'GET',
          path: '/after',
          guards: [apiKeys, rateLimit({ name: 'a', points: 2, duration: 60, key: 'apiKey' })],
        },
      ],
    })
    const flood = await inSequence(6, `${url}/before`, invented)
    expect(flood.map((a) => a.status)).toEqual([401, 401, 401, 429, 429, 429])
    const a = await inSequence(3, `${url}/after`, () => ({ headers: { 'X-API-Key': keyA.key } }))
    const b = await inSequence(1, `${url}/after`, () => ({ headers: { 'X-API-Key': keyB.key } }))
    expect([...a, ...b].map((x) => x.status)).toEqual([200, 200, 429, 200])
  })

  it('counts every source port a proxy appends to the client address in one bucket', async () => {
    const url = await start({
      trustProxy: 1,
      routes: [{ method: 'GET', path: '/r', guards: [rateLimit({ points: 3, duration: 60 })] }],
    })
    const answers = await inSequence(5, `${url}/r`, (i) => via(`203.0.113.9:${40_000 + i}`))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429])
    expect((await send(`${url}/r`, via('203.0.113.10:40000'))).status).toBe(200)
  })

  it('groups IPv6 clients by /64 in a custom key that falls back to ipKeyOf()', async () => {
    const url = await start({
      trustProxy: 1,
      routes: [
        {
          method: 'GET',
          path: '/r',
          guards: [
            authenticatesFromHeader,
            rateLimit({ points: 3, duration: 60, key: (ctx) => ctx.principal?.id ?? ipKeyOf(ctx.req.ip) }),
          ],
        },
      ],
    })
    const rotated = await inSequence(5, `${url}/r`, (i) =>
      via(`2001:db8:a:b:${(i * 7919).toString(16)}::${i + 1}`),
    )
    expect(rotated.map((a) => a.status)).toEqual([200, 200, 200, 429, 429])
    expect((await send(`${url}/r`, via('2001:db8:a:c::1'))).status).toBe(200)
    expect(
      (await send(`${url}/r`, { headers: { 'x-user': 'alice', ...via('2001:db8:a:b::1').headers } })).status,
    ).toBe(200)
  })

  it('refuses with a 503 problem, never reaching the handler, when a callback throws or answers a promise', async () => {
    const { bus, events } = recordingBus()
    let reached = 0
    const handler = () => {
      reached++
      return { status: 200, body: { ok: true } }
    }
    const url = await start({
      events: bus,
      routes: [
        {
          method: 'GET',
          path: '/throwing-skip',
          handler,
          guards: [
            rateLimit({
              points: 100,
              duration: 60,
              skip: () => {
                throw new Error('boom')
              },
            }),
          ],
        },
        {
          method: 'GET',
          path: '/async-key',
          handler,
          guards: [rateLimit({ points: 100, duration: 60, key: (async () => 'tenant') as never })],
        },
      ],
    })
    for (const path of ['/throwing-skip', '/async-key']) {
      const answer = await send(url + path)
      expect(isProblem(answer, 503, 'ratelimit.unavailable'), path).toBe(true)
      expect(hasRetryAfter(answer)).toBe(true)
    }
    expect(reached).toBe(0)
    expect(events.filter((e) => e.type === 'ratelimit.error').map((e) => e.callback)).toEqual(['skip', 'key'])
  })

  it('counts each principal after authentication and emits an event per refusal', async () => {
    const { bus, events } = recordingBus()
    const url = await start({
      events: bus,
      routes: [
        {
          method: 'GET',
          path: '/r',
          guards: [authenticatesFromHeader, rateLimit({ points: 2, duration: 60, key: 'principal' })],
        },
      ],
    })
    const alice = await inSequence(3, `${url}/r`, () => ({ headers: { 'x-user': 'alice' } }))
    const bob = await inSequence(1, `${url}/r`, () => ({ headers: { 'x-user': 'bob' } }))
    expect([...alice, ...bob].map((a) => a.status)).toEqual([200, 200, 429, 200])
    const exceeded = events.filter((e) => e.type === 'ratelimit.exceeded')
    expect(exceeded).toHaveLength(1)
    expect(exceeded[0]).toMatchObject({ principal: 'alice', severity: 'warn', code: 'ratelimit.exceeded' })
  })
})

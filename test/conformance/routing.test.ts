import type { Guard, RoutingPolicy } from '@apiward/core'
import { rateLimit } from '@apiward/ratelimit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from './client.js'
import type { AdapterHarness, AppSpec, RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

const echoesMatchPath: Guard = (ctx) => {
  ctx.setHeader('X-Match-Path', ctx.req.matchPath)
  ctx.setHeader('X-Path', ctx.req.path)
}

/** Each framework's default policy, as its router behaves out of the box. */
const DEFAULTS: Record<AdapterHarness['framework'], RoutingPolicy> = {
  express: { caseSensitive: false, strictSlash: false },
  koa: { caseSensitive: false, strictSlash: false },
  fastify: { caseSensitive: true, strictSlash: true },
  hono: { caseSensitive: true, strictSlash: true },
}

const invert = (p: RoutingPolicy): RoutingPolicy => ({
  caseSensitive: !p.caseSensitive,
  strictSlash: !p.strictSlash,
})

/** Spellings of `/echo-path` a client can try; which reach the route is the router's business. */
const SPELLINGS = [
  '/echo-path',
  '/ECHO-PATH',
  '/Echo-Path',
  '/echo-path/',
  '/ECHO-PATH/',
  '/%65cho-path',
  'http://invented.example/echo-path',
  'HTTP://invented.example:8080/Echo-Path',
  'https://user@invented.example/echo-path/?q=1',
]

function appSpec(routing: RoutingPolicy | undefined): AppSpec {
  const perPath = rateLimit({ points: 3, duration: 60, key: ['path', 'ip'] })
  const appWide = rateLimit({
    points: 3,
    duration: 60,
    key: 'route',
    skip: (ctx) => !ctx.req.matchPath.startsWith('/app-limited'),
  })
  return {
    routing,
    appGuards: [appWide],
    routes: [
      { method: 'GET', path: '/echo-path', guards: [echoesMatchPath] },
      { method: 'GET', path: '/rl-path', guards: [perPath] },
      { method: 'GET', path: '/rl-spellings', guards: [rateLimit({ points: 3, duration: 60, key: 'path' })] },
      { method: 'GET', path: '/app-limited' },
    ],
  }
}

describe.each(harnesses)('$name adapter: path-derived decisions', (harness) => {
  for (const [label, routing] of [
    ['framework defaults', undefined],
    ['the opposite policy', invert(DEFAULTS[harness.framework])],
  ] as const) {
    describe(`with ${label}`, () => {
      const policy = routing ?? DEFAULTS[harness.framework]
      let server: RunningServer
      beforeAll(async () => {
        server = await harness.start(appSpec(routing))
      })
      afterAll(async () => {
        await server.close()
      })

      it('gives every spelling that reaches a route the path the router matched', async () => {
        const reached: string[] = []
        for (const target of SPELLINGS) {
          const answer = await send(`${server.url}/`, { target })
          if (answer.status === 404) continue
          // @hono/node-server takes an absolute-form target only with a lower-case scheme: it
          // refuses the others before Hono runs, as a 400 problem through requestErrorHandler().
          if (harness.framework === 'hono' && /^[A-Z]+:/.test(target)) {
            expect(answer.status).toBe(400)
            expect(answer.json.code).toBe('request.malformed')
            continue
          }
          expect(answer.status).toBe(200)
          reached.push(target)
          const trailing = new URL(target, 'http://h').pathname.endsWith('/')
          expect(answer.headers['x-match-path']).toBe(
            policy.strictSlash && trailing ? '/echo-path/' : '/echo-path',
          )
          expect(answer.headers['x-path']).not.toMatch(/invented|http/i)
        }
        // The router decides which spellings are the route; the folding follows it exactly.
        // Whether a router decodes `%65` or takes an upper-case scheme (find-my-way depends on
        // its version and case policy) is its own choice: those spellings are checked above when
        // they reach the route and left out here.
        const plain = (t: string) => !t.includes('%') && !/^[A-Z]+:/.test(t)
        const expected = SPELLINGS.filter(plain).filter((t) => {
          const p = new URL(t, 'http://h').pathname
          const caseOk = policy.caseSensitive ? p.replace(/\/$/, '') === '/echo-path' : true
          const slashOk = policy.strictSlash ? !p.endsWith('/') || p === '/' : true
          return caseOk && slashOk
        })
        expect(reached.filter(plain)).toEqual(expected)
      })

      it('counts absolute-form targets with invented hosts in the bucket of their path', async () => {
        const statuses: number[] = []
        for (let i = 0; i < 6; i++) {
          const answer = await send(`${server.url}/`, { target: `http://host-${i}.example/rl-path` })
          statuses.push(answer.status)
        }
        expect(statuses).toEqual([200, 200, 200, 429, 429, 429])
      })

      it('counts every spelling that reaches a route in one bucket', async () => {
        const targets = [
          '/rl-spellings',
          '/RL-SPELLINGS',
          '/rl-spellings/',
          'http://x/Rl-Spellings/',
          '/rl-spellings',
          '/RL-Spellings',
        ]
        const reaching: number[] = []
        for (const target of targets) {
          const answer = await send(`${server.url}/`, { target })
          if (answer.status !== 404) reaching.push(answer.status)
        }
        expect(reaching.length).toBeGreaterThanOrEqual(2)
        expect(reaching).toEqual(reaching.map((_, i) => (i < 3 ? 200 : 429)))
      })

      it('keeps an app-wide limiter keyed by route from being split by absolute-form targets', async () => {
        const statuses: number[] = []
        for (let i = 0; i < 5; i++) {
          const answer = await send(`${server.url}/`, { target: `http://h${i}.example/app-limited` })
          statuses.push(answer.status)
        }
        expect(statuses).toEqual([200, 200, 200, 429, 429])
      })
    })
  }
})

import { bruteForce, ipFilter } from '@apiward/ratelimit'
import { afterAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { AppSpec, HandlerInput, HandlerResult, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { hasRetryAfter, inSequence, isProblem, json, recordingBus, via, watchUnhandled } from './support.js'

const unhandled = watchUnhandled()
afterAll(() => {
  unhandled.stop()
  expect(unhandled.rejections).toEqual([])
})

/** A login handler: the password `right` is right for everyone. */
function login(input: HandlerInput): HandlerResult {
  const body = input.body as { password?: unknown } | undefined
  return body?.password === 'right'
    ? { status: 200, body: { ok: true } }
    : { status: 401, body: { ok: false } }
}

const attempt = (username: unknown, password: string, ip?: string) => {
  const options = json({ username, password })
  if (ip !== undefined)
    options.headers = { ...(options.headers as Record<string, string>), ...via(ip).headers }
  return options
}

describe.each(harnesses)('bruteForce() and ipFilter() through $name', (harness) => {
  const servers: RunningServer[] = []
  const start = async (spec: AppSpec) => {
    const server = await harness.start(spec)
    servers.push(server)
    return server.url
  }
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  it('blocks a username from one IP after consecutive failures, in one line on the login route', async () => {
    const { bus, events } = recordingBus()
    const url = await start({
      events: bus,
      routes: [
        {
          method: 'POST',
          path: '/login',
          guards: [bruteForce({ maxConsecutiveFailures: 3 })],
          handler: login,
        },
      ],
    })
    const answers = await inSequence(4, `${url}/login`, (i) => attempt('alice', i < 3 ? 'wrong' : 'right'))
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429])
    expect(isProblem(answers[3]!, 429, 'ratelimit.too_many_failures')).toBe(true)
    expect(hasRetryAfter(answers[3]!)).toBe(true)
    expect((await send(`${url}/login`, attempt('bob', 'right'))).status).toBe(200)
    expect(events.map((e) => e.type)).toContain('bruteforce.blocked')
  })

  it('resets the failures of a username on a successful login', async () => {
    const url = await start({
      routes: [
        {
          method: 'POST',
          path: '/login',
          guards: [bruteForce({ maxConsecutiveFailures: 2 })],
          handler: login,
        },
      ],
    })
    const passwords = ['wrong', 'right', 'wrong', 'right', 'wrong', 'wrong', 'right']
    const answers = await inSequence(passwords.length, `${url}/login`, (i) => attempt('alice', passwords[i]!))
    expect(answers.map((a) => a.status)).toEqual([401, 200, 401, 200, 401, 401, 429])
  })

  it('blocks a username guessed from many IPs, and counts its spellings together', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 10, maxFailuresPerUsername: 3 })
    const url = await start({
      trustProxy: 1,
      routes: [{ method: 'POST', path: '/login', guards: [guard], handler: login }],
    })
    const spellings = ['carol', ' Carol', 'ＣＡＲＯＬ']
    const answers = await inSequence(3, `${url}/login`, (i) =>
      attempt(spellings[i], 'wrong', `198.51.100.${i + 1}`),
    )
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401])
    expect((await send(`${url}/login`, attempt('CAROL', 'right', '192.0.2.200'))).status).toBe(429)
    expect((await send(`${url}/login`, attempt('dave', 'right', '192.0.2.200'))).status).toBe(200)
  })

  it('refuses usernames that are not strings with a 400 before the handler, once the account is locked', async () => {
    let reached = 0
    const coercing = (input: HandlerInput): HandlerResult => {
      reached++
      // A handler (or a query builder) that turns ['victim'] or { 0: 'victim' } into 'victim'.
      const body = input.body as { username?: unknown }
      const name = Array.isArray(body.username)
        ? String(body.username)
        : String(Object.values(body.username ?? {}))
      return login({ ...input, body: { ...body, username: name } })
    }
    const url = await start({
      trustProxy: 1,
      routes: [
        {
          method: 'POST',
          path: '/login',
          guards: [bruteForce({ maxConsecutiveFailures: 10, maxFailuresPerUsername: 3 })],
          handler: coercing,
        },
      ],
    })
    const guesses = await inSequence(3, `${url}/login`, (i) =>
      attempt('victim', 'wrong', `198.51.100.${i + 1}`),
    )
    expect(guesses.map((a) => a.status)).toEqual([401, 401, 401])
    expect((await send(`${url}/login`, attempt('victim', 'right', '192.0.2.200'))).status).toBe(429)
    reached = 0
    const shapes = [['victim'], { 0: 'victim' }]
    const answers = await inSequence(25, `${url}/login`, (i) =>
      attempt(shapes[i % 2], 'right', `203.0.113.${i + 1}`),
    )
    expect(answers.every((a) => isProblem(a, 400, 'request.invalid_username'))).toBe(true)
    expect(reached).toBe(0)
  })

  it('lets a malformed body through to the usual 400, not to a 500', async () => {
    const url = await start({
      routes: [{ method: 'POST', path: '/login', guards: [bruteForce()], handler: login }],
    })
    const answer = await send(`${url}/login`, {
      method: 'POST',
      body: '{"username": ',
      headers: { 'Content-Type': 'application/json' },
    })
    expect(answer.status).toBe(400)
    expect(
      (
        await send(`${url}/login`, {
          method: 'POST',
          body: '[1,2]',
          headers: { 'Content-Type': 'application/json' },
        })
      ).status,
    ).toBe(401)
  })

  it('filters client IPs by CIDR lists behind a trusted proxy, with a 403 problem', async () => {
    const url = await start({
      trustProxy: 1,
      routes: [
        {
          method: 'GET',
          path: '/admin',
          guards: [ipFilter({ allow: ['10.0.0.0/8', '2001:db8:1::/48'], deny: ['10.9.0.0/16'] })],
        },
      ],
    })
    const ips = ['10.1.2.3', '::ffff:10.1.2.3', '2001:db8:1:ff::1', '10.9.1.1', '192.0.2.1', '2001:db8:2::1']
    const answers = await inSequence(ips.length, `${url}/admin`, (i) => via(ips[i]!))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 403, 403, 403])
    expect(isProblem(answers[3]!, 403, 'ipfilter.denied')).toBe(true)
    expect((await send(`${url}/admin`, via('10.1.2.3', '192.0.2.1'))).status).toBe(200)
    expect((await send(`${url}/admin`, via('192.0.2.1', '10.1.2.3'))).status).toBe(403)
  })
})

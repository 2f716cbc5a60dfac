import { bruteForce, normalizeUsername } from '@apiward/ratelimit'
import { describe, expect, it } from 'vitest'
import { context, outcomeOf } from './support.js'

type Guard = ReturnType<typeof bruteForce>

/** One login attempt: the guard runs, then (when allowed) the response ends with `status`. */
async function attempt(guard: Guard, username: unknown, status: number, ip = '198.51.100.1') {
  const ctx = context({ ip, body: { username } })
  const err = await outcomeOf(guard, ctx)
  if (err !== undefined) {
    ctx.renderError(err)
    ctx.finish(err.status, false)
    return { status: err.status, err, ctx }
  }
  ctx.finish(status, false)
  return { status, err, ctx }
}

async function statuses(guard: Guard, username: unknown, list: number[], ip?: string) {
  const out: number[] = []
  for (const status of list) out.push((await attempt(guard, username, status, ip)).status)
  return out
}

describe('normalizeUsername', () => {
  it('folds case, compatibility forms and surrounding space into one spelling', () => {
    expect(normalizeUsername(' Alice ')).toBe('alice')
    expect(normalizeUsername('ＡＬＩＣＥ')).toBe('alice')
    expect(normalizeUsername('ALICE@Example.COM')).toBe('alice@example.com')
    expect(normalizeUsername(1234)).toBe('1234')
  })

  it('has no username for empty or non-text values', () => {
    for (const value of ['', '   ', undefined, null, {}, ['a'], Number.NaN])
      expect(normalizeUsername(value)).toBeUndefined()
  })
})

describe('bruteForce()', () => {
  it('refuses bad options at build time with a TypeError naming the fix', () => {
    expect(() => bruteForce({ maxConsecutiveFailures: 0 })).toThrow(
      /maxConsecutiveFailures must be an integer/,
    )
    expect(() => bruteForce({ blockDuration: 0.5 })).toThrow(/blockDuration/)
    expect(() => bruteForce({ freeRetries: 3 } as never)).toThrow(/maxConsecutiveFailures/)
    expect(() => bruteForce({ username: 'username' as never })).toThrow(/username must be a function/)
    expect(() => bruteForce({ maxConsecutiveFailure: 3 } as never)).toThrow(
      /did you mean "maxConsecutiveFailures"/,
    )
    expect(() => bruteForce({ ipv6Subnet: 128 })).toThrow(/dangerouslyAllowAnyIpv6Subnet/)
    expect(() => bruteForce({ ipv6Subnet: 128, dangerouslyAllowAnyIpv6Subnet: true })).not.toThrow()
  })

  it('needs the parsed body, so Fastify runs it in preHandler', () => {
    expect(bruteForce().needsBody).toBe(true)
  })

  it('blocks a username from one IP after the consecutive failures, with Retry-After', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 3, blockDuration: 120 })
    expect(await statuses(guard, 'alice', [401, 401, 401])).toEqual([401, 401, 401])
    const refused = await attempt(guard, 'alice', 200)
    expect(refused.status).toBe(429)
    expect(refused.err?.code).toBe('ratelimit.too_many_failures')
    expect(Number(refused.err?.headers?.['Retry-After'])).toBeGreaterThan(110)
    expect(refused.ctx.seen.map((e) => e.type)).toEqual(['bruteforce.denied'])
  })

  it('keeps other usernames and other IPs of the same username open', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 2, maxFailuresPerUsername: 10 })
    await statuses(guard, 'alice', [401, 401])
    expect((await attempt(guard, 'alice', 401)).status).toBe(429)
    expect((await attempt(guard, 'bob', 200)).status).toBe(200)
    expect((await attempt(guard, 'alice', 200, '198.51.100.2')).status).toBe(200)
  })

  it('resets the run of failures on success', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 3 })
    expect(await statuses(guard, 'alice', [401, 401, 200, 401, 401, 200])).toEqual([
      401, 401, 200, 401, 401, 200,
    ])
  })

  it('does not count attempts that end neither in success nor in failure', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 2 })
    expect(await statuses(guard, 'alice', [400, 400, 500, 400, 401])).toEqual([400, 400, 500, 400, 401])
    expect((await attempt(guard, 'alice', 401)).status).toBe(401)
    expect((await attempt(guard, 'alice', 200)).status).toBe(429)
  })

  it('blocks a username tried from many IPs, for every IP', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 5, maxFailuresPerUsername: 4 })
    for (let i = 0; i < 4; i++)
      expect((await attempt(guard, 'alice', 401, `198.51.100.${i}`)).status).toBe(401)
    const refused = await attempt(guard, 'alice', 200, '192.0.2.77')
    expect(refused.status).toBe(429)
    expect(refused.ctx.seen[0]).toMatchObject({ scope: 'username' })
    expect((await attempt(guard, 'bob', 200, '192.0.2.77')).status).toBe(200)
  })

  it('counts spellings of one username together', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 3 })
    await statuses(guard, ' Alice', [401])
    await statuses(guard, 'ALICE ', [401])
    await statuses(guard, 'ａｌｉｃｅ', [401])
    expect((await attempt(guard, 'alice', 200)).status).toBe(429)
  })

  it('limits parallel guesses: attempts in flight count', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 3 })
    const inFlight = []
    for (let i = 0; i < 5; i++)
      inFlight.push(await outcomeOf(guard, context({ ip: '198.51.100.1', body: { username: 'a' } })))
    expect(inFlight.map((e) => e?.status ?? 200)).toEqual([200, 200, 200, 429, 429])
  })

  it('counts an attempt whose client went away', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 1 })
    const ctx = context({ body: { username: 'alice' } })
    await outcomeOf(guard, ctx)
    ctx.finish(200, true)
    expect((await attempt(guard, 'alice', 200, '203.0.113.10')).status).toBe(429)
  })

  it('counts attempts without a username per IP only', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 2, maxFailuresPerUsername: 2 })
    expect(await statuses(guard, undefined, [401, 401, 200])).toEqual([401, 401, 429])
    expect((await attempt(guard, undefined, 200, '198.51.100.9')).status).toBe(200)
  })

  it('refuses a username that is not a string with a 400, before counting or the handler', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 1, maxFailuresPerUsername: 1 })
    expect((await attempt(guard, 'victim', 401)).status).toBe(401)
    expect((await attempt(guard, 'victim', 200, '198.51.100.200')).status).toBe(429)
    for (const [i, username] of [['victim'], { 0: 'victim' }, { $ne: null }, 42, null, true].entries()) {
      const ctx = context({ ip: `192.0.2.${i + 1}`, body: { username } })
      const err = await outcomeOf(guard, ctx)
      expect(err?.status, JSON.stringify(username)).toBe(400)
      expect(err?.code).toBe('request.invalid_username')
      expect(ctx.seen.map((e) => e.type)).toEqual(['bruteforce.denied'])
    }
    expect((await attempt(guard, undefined, 200, '192.0.2.99')).status).toBe(200)
  })

  it('refuses a username read by a username option that is not a string', async () => {
    const guard = bruteForce({ username: (ctx) => (ctx.req.body as { login: { name: string } }).login.name })
    const err = await outcomeOf(guard, context({ body: { login: { name: ['victim'] } } }))
    expect(err?.status).toBe(400)
    expect(err?.code).toBe('request.invalid_username')
    expect(await outcomeOf(guard, context({ body: { login: { name: 'victim' } } }))).toBeUndefined()
  })

  it('consumes nothing for attempts refused while a pair is full, so ignored answers free it', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 2 })
    const inFlight = []
    for (let i = 0; i < 10; i++) {
      const ctx = context({ ip: '198.51.100.1', body: { username: 'a' } })
      inFlight.push({ ctx, err: await outcomeOf(guard, ctx) })
    }
    expect(inFlight.map((a) => a.err?.status ?? 200)).toEqual([
      200, 200, 429, 429, 429, 429, 429, 429, 429, 429,
    ])
    for (const { ctx, err } of inFlight) if (err === undefined) ctx.finish(400, false)
    expect((await attempt(guard, 'a', 401)).status).toBe(401)
  })

  it('takes an explicit verdict from the handler over the status', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 2 })
    for (let i = 0; i < 2; i++) {
      const ctx = context({ body: { username: 'alice' } })
      await outcomeOf(guard, ctx)
      guard.failure(ctx)
      ctx.finish(200, false)
    }
    expect((await attempt(guard, 'alice', 200, '203.0.113.10')).status).toBe(429)
  })

  it('reads the username where it is told to, and classifies outcomes as told', async () => {
    const guard = bruteForce({
      maxConsecutiveFailures: 1,
      username: (ctx) => ctx.req.header('x-user'),
      verdict: (outcome) => (outcome.status === 422 ? 'failure' : 'ignore'),
    })
    const first = context({ headers: { 'x-user': 'carol' } })
    await outcomeOf(guard, first)
    first.finish(422, false)
    const second = context({ headers: { 'x-user': 'CAROL' } })
    expect((await outcomeOf(guard, second))?.status).toBe(429)
  })

  it('unlocks a username on request', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 1, maxFailuresPerUsername: 1 })
    await statuses(guard, 'alice', [401])
    expect((await attempt(guard, 'alice', 200)).status).toBe(429)
    await guard.reset('Alice', '198.51.100.1')
    expect((await attempt(guard, 'alice', 200)).status).toBe(200)
  })

  it('emits failure and block events without the username', async () => {
    const guard = bruteForce({ maxConsecutiveFailures: 1 })
    const { ctx } = await attempt(guard, 'alice@example.com', 401)
    expect(ctx.seen.map((e) => e.type)).toEqual(['bruteforce.failure', 'bruteforce.blocked'])
    expect(JSON.stringify(ctx.seen)).not.toContain('alice')
  })
})

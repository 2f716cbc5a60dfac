import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { type AuditLog, auditLog, verifyFiles } from '@apiward/audit-log'
import { apiKey, generateApiKey, jwt } from '@apiward/auth'
import { defineGuard, type Guard, type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { Unauthorized } from '@apiward/errors'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, send, sleep } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { recordsOf, tempDir } from './support.js'

const dir = tempDir()

const SECRET_KEY = new TextEncoder().encode('k'.repeat(32))
const OTHER_KEY = new TextEncoder().encode('o'.repeat(32))
const apiKeyValue = generateApiKey({ prefix: 'ak_live' })
const WRONG_API_KEY = generateApiKey({ prefix: 'ak_live' }).key
const PASSWORD = 'Hunter2-Correct-Horse-Battery'
const COOKIE = 'sid=cookie-secret-4711'
const ACCESS_TOKEN = 'querysecret0815querysecret'

const authenticates: Guard = (ctx) => {
  ctx.principal = { id: 'alice', kind: 'user', scopes: [], roles: [], claims: {}, credential: 'jwt' }
}
/** Takes the caller's name from the body, as a login form does: untrusted text in `principal`. */
const namesFromBody = defineGuard(
  (ctx) => {
    const name = (ctx.req.body as { username?: unknown } | undefined)?.username
    if (typeof name !== 'string') throw new Unauthorized({ code: 'auth.missing_credentials' })
    ctx.emit('auth.failure', { severity: 'warn', code: 'auth.invalid_credentials', principal: name })
    ctx.principal = { id: name, kind: 'user', scopes: [], roles: [], claims: {}, credential: 'password' }
  },
  { guardName: 'namesFromBody', needsBody: true },
)
const denies: Guard = () => {
  throw new Unauthorized({ code: 'auth.missing_token' })
}
const bearer = jwt({ secret: SECRET_KEY, issuer: 'https://issuer.test/', audience: 'api' })
const keys = apiKey({
  prefix: 'ak_live',
  keys: [{ id: apiKeyValue.id, hash: apiKeyValue.hash, owner: 'svc' }],
})

const token = (key: Uint8Array) =>
  new SignJWT({ sub: 'carol' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://issuer.test/')
    .setAudience('api')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key)

/** Sends exact bytes as one request; resolves with the status line. */
function raw(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(Buffer.from(text, 'latin1')))
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
    })
    socket.on('end', () => resolve(answer.split('\r\n')[0]!))
    socket.on('error', reject)
  })
}

describe.each(harnesses)('the audit log on $name', ({ name }) => {
  const events: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  const file = join(dir, `${name}.log`)
  let log: AuditLog
  let server: RunningServer

  beforeAll(async () => {
    log = auditLog({ destination: { file }, events: bus, checkpointIntervalMs: false })
    server = await harnesses
      .find((h) => h.name === name)!
      .start({
        events: bus,
        routes: [
          { method: 'GET', path: '/notes/:id', guards: [authenticates] },
          { method: 'GET', path: '/deny', guards: [denies] },
          { method: 'POST', path: '/login', guards: [namesFromBody] },
          { method: 'GET', path: '/jwt/:rest', guards: [bearer] },
          { method: 'POST', path: '/key', guards: [keys] },
          {
            method: 'GET',
            path: '/slow',
            guards: [authenticates],
            handler: async () => {
              await sleep(300)
              return { status: 200, body: {} }
            },
          },
        ],
      })
  })
  afterAll(async () => {
    await server.close()
    await log.close()
  })

  const completed = () => events.filter((e) => e.type === 'request.completed')

  it('emits one request.completed per answered request with principal, credential, route, status and code', async () => {
    const before = completed().length
    const allowed = await send(`${server.url}/notes/42`, { headers: { 'User-Agent': 'audit-test/1' } })
    const denied = await send(`${server.url}/deny`)
    expect([allowed.status, denied.status]).toEqual([200, 401])
    await eventually(() => completed().length === before + 2)
    const [ok, no] = completed().slice(before)
    expect(ok).toMatchObject({
      status: 200,
      aborted: false,
      principal: 'alice',
      credential: 'jwt',
      route: '/notes/:id',
      path: '/notes/42',
      method: 'GET',
      userAgent: 'audit-test/1',
      requestId: allowed.headers['x-request-id'],
    })
    expect(ok!.code).toBeUndefined()
    expect(ok!.codes).toBeUndefined()
    expect(no).toMatchObject({
      status: 401,
      code: 'auth.missing_token',
      codes: ['auth.missing_token'],
      severity: 'warn',
    })
    expect(typeof ok!.durationMs).toBe('number')
  })

  it("carries the codes of the request's events, also when it was allowed", async () => {
    const before = completed().length
    const answer = await send(`${server.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'dave' }),
    })
    expect(answer.status).toBe(200)
    await eventually(() => completed().length === before + 1)
    expect(completed().at(-1)).toMatchObject({
      status: 200,
      principal: 'dave',
      codes: ['auth.invalid_credentials'],
    })
    await log.flush()
    const line = recordsOf(file).findLast((r) => r.event === 'request.completed' && r.principal === 'dave')
    expect(line?.codes).toEqual(['auth.invalid_credentials'])
  })

  it('marks a request whose client went away as aborted', async () => {
    const before = completed().length
    await send(`${server.url}/slow`, { abortAfterMs: 50 }).catch(() => undefined)
    await eventually(() => completed().length === before + 1, 3000)
    expect(completed().at(-1)).toMatchObject({ aborted: true, route: '/slow', severity: 'warn' })
  })

  it('writes no line that an input could split or forge, in path, user agent, username and request ID', async () => {
    const forged = '"}\r\n{"event":"auth.success","principal":"admin"}'
    const before = completed().length
    // Path: CR/LF, U+2028 and an ANSI escape, percent-encoded; user agent: a C1 control and forged JSON.
    const status = await raw(
      server.url,
      'GET /notes/%0d%0a%7B%22event%22%3A%22auth.success%22%7D%E2%80%A8%1B%5B2J HTTP/1.1\r\n' +
        `Host: x\r\nUser-Agent: \u00c2\u0085${forged.replace(/\r\n/g, ' ')}\r\nX-Request-Id: ${forged.replace(/\r\n/g, '')}\r\nConnection: close\r\n\r\n`,
    )
    expect(status).toMatch(/^HTTP\/1\.1 (200|400|404)/)
    const login = await send(`${server.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: `mallory${forged}\u2028\u2029\u0085\u001b[31m\u009b31m` }),
    })
    expect(login.status).toBe(200)
    await eventually(() => completed().length >= before + 2)
    await log.flush()
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
    for (const line of lines) {
      const record = JSON.parse(line)
      expect(typeof record.event).toBe('string')
      expect(
        [...line].filter(
          (c) => c < ' ' || (c >= '\u007f' && c <= '\u009f') || c === '\u2028' || c === '\u2029',
        ),
      ).toEqual([])
    }
    expect(lines.filter((l) => JSON.parse(l).principal === 'admin')).toEqual([])
    const mallory = lines.map((l) => JSON.parse(l)).filter((r) => r.principal?.startsWith('mallory'))
    expect(mallory.map((r) => r.event).sort()).toEqual(['auth.failure', 'request.completed'])
    const fromRaw = completed().find((e) => String(e.userAgent).includes('auth.success'))
    expect(fromRaw?.requestId).toMatch(/^[A-Za-z0-9._-]+$/)
    expect(fromRaw?.requestId).not.toContain('event')
  })

  it('never writes a secret the request carried, wherever it was', async () => {
    const goodJwt = await token(SECRET_KEY)
    const badJwt = await token(OTHER_KEY)
    await send(`${server.url}/notes/${badJwt}`)
    await send(`${server.url}/jwt/x?access_token=${ACCESS_TOKEN}&note=${badJwt}`, {
      headers: { Authorization: `Bearer ${badJwt}`, Cookie: COOKIE, 'X-Api-Key': WRONG_API_KEY },
    })
    const ok = await send(`${server.url}/jwt/x`, { headers: { Authorization: `Bearer ${goodJwt}` } })
    expect(ok.status).toBe(200)
    const refused = await send(`${server.url}/key`, {
      method: 'POST',
      headers: {
        'X-Api-Key': WRONG_API_KEY,
        'Content-Type': 'application/json',
        'Proxy-Authorization': `Basic ${btoa(`u:${PASSWORD}`)}`,
      },
      body: JSON.stringify({ password: PASSWORD, client_secret: PASSWORD, refresh_token: ACCESS_TOKEN }),
    })
    expect(refused.status).toBe(401)
    const accepted = await send(`${server.url}/key`, {
      method: 'POST',
      headers: { 'X-Api-Key': apiKeyValue.key, 'Content-Type': 'application/json' },
      body: '{}',
    })
    expect(accepted.status).toBe(200)
    await send(`${server.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: `eve ${goodJwt} ${apiKeyValue.key}` }),
    })
    await sleep(50)
    await log.flush()
    const text = readFileSync(file, 'utf8')
    for (const secret of [
      goodJwt,
      badJwt,
      goodJwt.split('.')[2]!,
      apiKeyValue.key,
      WRONG_API_KEY,
      PASSWORD,
      COOKIE,
      ACCESS_TOKEN,
    ]) {
      expect(text).not.toContain(secret)
    }
    const records = recordsOf(file)
    expect(records.some((r) => r.event === 'auth.failure' && r.credential === 'jwt')).toBe(true)
    expect(records.some((r) => r.event === 'auth.success' && r.credential === 'api_key')).toBe(true)
  })

  it('writes a chain that verifies once the log is closed', async () => {
    const copy = auditLog({ destination: { file: join(dir, `${name}-short.log`) }, events: bus })
    await send(`${server.url}/notes/1`)
    await eventually(() => copy.stats().lines >= 2)
    await copy.close()
    expect(verifyFiles([join(dir, `${name}-short.log`)]).ok).toBe(true)
  })
})

describe('request.completed on demand', () => {
  it('is not built while no subscriber wants it, even with listeners on the bus', async () => {
    const bus = new SecurityEventBus()
    const seen: string[] = []
    bus.on((e) => seen.push(e.type))
    const server = await harnesses[0]!.start({
      events: bus,
      routes: [{ method: 'GET', path: '/x', guards: [denies] }],
    })
    await send(`${server.url}/x`)
    await sleep(20)
    expect(bus.listens('request.completed')).toBe(false)
    expect(seen).toEqual([])
    const unwant = bus.want('request.completed')
    expect(bus.listens('request.completed')).toBe(true)
    await send(`${server.url}/x`)
    await eventually(() => seen.includes('request.completed'))
    unwant()
    unwant()
    expect(bus.listens('request.completed')).toBe(false)
    await server.close()
  })
})

import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { auditLog, escapeJson, verifyFiles } from '../src/index.js'
import { linesOf, newBus, tempDir } from './support.js'

const dir = tempDir()
let counter = 0

/** Writes the events `emit` reports on a fresh bus to a fresh file; returns the event lines. */
async function logged(
  emit: (bus: ReturnType<typeof newBus>) => void,
  options: Parameters<typeof auditLog>[0] = {},
): Promise<{ file: string; lines: string[]; records: Record<string, any>[] }> {
  const file = join(dir, `lines-${++counter}.log`)
  const bus = newBus()
  const log = auditLog({ destination: { file }, events: bus, checkpointIntervalMs: false, ...options })
  emit(bus)
  await log.close()
  const lines = linesOf(file).slice(1, -1)
  return { file, lines, records: lines.map((l) => JSON.parse(l)) }
}

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU'
const API_KEY = 'ak_live_4fT0cWq9ZpLk_x8Qv2Rr7Tt0Yy3Uu6Ii9Oo1Pp4Aa'

describe('one line per event', () => {
  it('writes the documented fields with their names', async () => {
    const { records } = await logged((bus) =>
      bus.report('request.completed', {
        time: Date.UTC(2026, 4, 1, 10, 0, 0),
        requestId: 'req-1',
        method: 'GET',
        path: '/notes/42',
        route: '/notes/:id',
        ip: '10.0.0.1',
        principal: 'alice',
        credential: 'jwt',
        status: 200,
        durationMs: 1.23456,
        aborted: false,
        policyVersion: 'v7',
      } as never),
    )
    expect(records[0]).toMatchObject({
      time: '2026-05-01T10:00:00.000Z',
      event: 'request.completed',
      outcome: 'success',
      level: 'info',
      requestId: 'req-1',
      principal: 'alice',
      credential: 'jwt',
      ip: '10.0.0.1',
      method: 'GET',
      route: '/notes/:id',
      path: '/notes/42',
      status: 200,
      durationMs: 1.235,
      aborted: false,
      policyVersion: 'v7',
    })
  })

  it('writes ECS field names when asked, with the chain fields unchanged', async () => {
    const { file, records } = await logged(
      (bus) =>
        bus.report('request.completed', {
          severity: 'warn',
          requestId: 'req-2',
          method: 'POST',
          path: '/login',
          ip: '10.0.0.2',
          principal: 'bob',
          code: 'auth.invalid_token',
          status: 401,
          durationMs: 2,
          aborted: false,
        }),
      { fieldNames: 'ecs' },
    )
    expect(records[0]).toMatchObject({
      event: { action: 'request.completed', outcome: 'failure', reason: 'auth.invalid_token', duration: 2e6 },
      trace: { id: 'req-2' },
      user: { id: 'bob' },
      source: { ip: '10.0.0.2' },
      http: { request: { method: 'POST' }, response: { status_code: 401 } },
      url: { path: '/login' },
      log: { level: 'warn' },
    })
    expect(records[0]!['@timestamp']).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(typeof records[0]!.hash).toBe('string')
    const own = linesOf(file).map((line) => JSON.parse(line))
    expect(own[0]).toMatchObject({
      event: { action: 'audit.chain_started' },
      log: { level: 'info' },
      apiward: { algorithm: 'sha256', pid: process.pid },
    })
    expect(own.at(-1)).toMatchObject({ event: { action: 'audit.chain_closed' }, apiward: { count: 2 } })
    expect(verifyFiles([file]).ok).toBe(true)
  })

  it('keeps an event field named like a line field apart from it', async () => {
    const { records } = await logged((bus) =>
      bus.report('auth.failure', { code: 'auth.invalid_token', event: 'forged', hash: 'x', n: 1 } as never),
    )
    expect(records[0]).toMatchObject({ event: 'auth.failure', _event: 'forged', _hash: 'x', _n: 1 })
  })
})

describe('redaction', () => {
  it('redacts secret fields at any depth and secret header values in raw header arrays', async () => {
    const { lines, records } = await logged((bus) =>
      bus.report('auth.error', {
        detail: 'x',
        request: {
          headers: { Authorization: `Bearer ${JWT}`, COOKIE: 'sid=s3cr3t-cookie', 'X-Api-Key': API_KEY },
          rawHeaders: ['Proxy-Authorization', 'Basic dXNlcjpodW50ZXIy', 'Set-Cookie', 'sid=raw-cookie-value'],
          body: {
            user: { password: 'hunter2-pw', profile: { client_secret: 'cs-value', refresh_token: 'rt-v' } },
          },
        },
      } as never),
    )
    const text = lines.join('\n')
    for (const secret of [
      's3cr3t-cookie',
      JWT,
      API_KEY,
      'dXNlcjpodW50ZXIy',
      'raw-cookie-value',
      'hunter2-pw',
      'cs-value',
      'rt-v',
    ]) {
      expect(text).not.toContain(secret)
    }
    expect(records[0]!.request.body.user.password).toBe('[REDACTED]')
    expect(records[0]!.request.rawHeaders).toEqual([
      'Proxy-Authorization',
      '[REDACTED]',
      'Set-Cookie',
      '[REDACTED]',
    ])
  })

  it('redacts JWTs, API keys, credentials and token parameters inside any text', async () => {
    const { lines } = await logged((bus) =>
      bus.report('auth.error', {
        detail: `token ${JWT} key ${API_KEY} header authorization: bearer abcdefgh12345678 url /cb?access_token=at-123&x=1 and sk_live_abcdefghijklmnop`,
      }),
    )
    expect(lines[0]).not.toMatch(/eyJhbGci|4fT0cWq9ZpLk_x8Q|abcdefgh12345678|at-123|sk_live_abcdefghijklmnop/)
    expect(JSON.parse(lines[0]!).detail).toContain('/cb?[REDACTED]&x=1')
  })

  it('finds every built-in shape when it is the whole value, with nothing around it', async () => {
    const secrets = [
      JWT,
      JWT.toUpperCase(),
      API_KEY,
      'sk_live_abcdefghijklmnop',
      'ghp_abcdefghijklmnopqrstuvwx',
      'AKIAABCDEFGHIJKLMNOP',
      'akiaabcdefghijklmnop',
      'access_token=at-123',
      'Bearer\tabcdefgh12345678',
    ]
    const { records } = await logged((bus) => {
      for (const secret of secrets)
        bus.report('request.completed', {
          requestId: secret,
          route: '/x/:s',
          path: `/x/${secret}`,
          status: 200,
        } as never)
    })
    expect(records.map((r) => [r.requestId, r.path])).toEqual(
      secrets.map(() => ['[REDACTED]', '/x/[REDACTED]']),
    )
  })

  it("scans every string for the options' own patterns, even one no built-in shape could be in", async () => {
    const { records } = await logged(
      (bus) =>
        bus.report('request.completed', {
          requestId: 'r1',
          route: '/notes/:id',
          path: '/notes/n1',
          status: 200,
        } as never),
      { redact: { patterns: [/n1$/] } },
    )
    expect(records[0]).toMatchObject({ requestId: 'r1', path: '/notes/[REDACTED]' })
  })

  it('applies redaction keys and patterns of the options, and its censor', async () => {
    const { records } = await logged(
      (bus) => bus.report('auth.error', { detail: 'ssn 123-45-6789', ssn: '123-45-6789' } as never),
      { redact: { keys: ['ssn'], patterns: [/\d{3}-\d{2}-\d{4}/], censor: '***' } },
    )
    expect(records[0]).toMatchObject({ detail: 'ssn ***', ssn: '***' })
  })

  it('cuts long values and records their length', async () => {
    const { records } = await logged((bus) => bus.report('auth.error', { detail: 'a'.repeat(50_000) }), {
      maxValueLength: 100,
    })
    expect(records[0]!.detail).toBe(`${'a'.repeat(100)}…[truncated, 50000 chars]`)
  })

  it('writes cyclic and deep values with bounds instead of failing', async () => {
    const cyclic: Record<string, unknown> = { name: 'loop' }
    cyclic.self = cyclic
    const { records } = await logged((bus) =>
      bus.report('auth.error', { detail: 'c', context: cyclic } as never),
    )
    expect(JSON.stringify(records[0]!.context)).toContain('[too deep]')
  })
})

describe('escaping', () => {
  it('escapes what JSON leaves raw: C1 controls, line separators and bidirectional marks', () => {
    const raw = JSON.stringify('a\u0085b\u009b31mc\u2028d\u2029e\u202ef\u007f')
    const escaped = escapeJson(raw)
    expect(escaped).toBe('"a\\u0085b\\u009b31mc\\u2028d\\u2029e\\u202ef\\u007f"')
    expect(JSON.parse(escaped)).toBe(JSON.parse(raw))
  })

  it('never lets a field split or forge a line', async () => {
    const forged = '\r\n{"event":"auth.success","principal":"admin"}\u2028\u2029\u0085\u001b[2J\u009b2J'
    const { file, lines } = await logged((bus) =>
      bus.report('auth.failure', {
        code: 'auth.invalid_token',
        principal: forged,
        path: forged,
        requestId: forged,
      }),
    )
    expect(lines).toHaveLength(1)
    expect(linesOf(file)).toHaveLength(3)
    expect(
      [...lines[0]!].filter(
        (c) => c < ' ' || (c >= '\u007f' && c <= '\u009f') || c === '\u2028' || c === '\u2029',
      ),
    ).toEqual([])
    expect(JSON.parse(lines[0]!).principal).toBe(forged)
  })

  it('escapes each character JSON leaves raw when it is the only unusual one in a value', async () => {
    const raw = [
      '\u007f',
      '\u0085',
      '\u009b',
      '\u00ad',
      '\u200b',
      '\u200f',
      '\u2028',
      '\u202e',
      '\u2066',
      '\ufeff',
    ]
    const { lines, records } = await logged((bus) => {
      for (const c of raw)
        bus.report('request.completed', {
          requestId: `r${c}1`,
          route: '/a',
          path: `/a${c}`,
          status: 200,
        } as never)
    })
    for (const line of lines) expect([...line].filter((c) => raw.includes(c))).toEqual([])
    expect(records.map((r) => [r.requestId, r.path])).toEqual(raw.map((c) => [`r${c}1`, `/a${c}`]))
  })

  it('escapes a repeated value on every line that holds it, and a censor JSON leaves unsafe', async () => {
    const unsafe = (line: string) =>
      [...line].filter((c) => (c >= '\u007f' && c <= '\u009f') || c === '\u2028')
    const { lines, records } = await logged((bus) => {
      for (let i = 0; i < 3; i++)
        bus.report('auth.failure', { principal: 'eve\u2028', method: 'GET', ip: '10.0.0.1' })
    })
    expect(lines).toHaveLength(3)
    for (const line of lines) expect(unsafe(line)).toEqual([])
    expect(records.map((r) => r.principal)).toEqual(['eve\u2028', 'eve\u2028', 'eve\u2028'])
    const censored = await logged(
      (bus) => {
        bus.report('auth.failure', { method: 'GET' })
        bus.report('auth.failure', { method: 'GET', password: 'hunter2' } as never)
      },
      { redact: { censor: '[gone\u0085]' } },
    )
    for (const line of censored.lines) expect(unsafe(line)).toEqual([])
    expect(censored.records[1]!.password).toBe('[gone\u0085]')
  })
})

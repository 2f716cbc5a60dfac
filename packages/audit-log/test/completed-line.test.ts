import { join } from 'node:path'
import { type Principal, RequestCompletedEvent, type SecurityEvent } from '@apiward/core'
import { describe, expect, it } from 'vitest'
import { auditLog, verifyFiles } from '../src/index.js'
import { completedJson, recordOf } from '../src/record.js'
import { Redactor } from '../src/redact.js'
import { linesOf, newBus, tempDir } from './support.js'

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU'

const alice = { id: 'alice', credential: 'jwt' } as Principal

interface Fields {
  requestId?: string
  method?: string
  path?: string
  ip?: string | undefined
  principal?: Principal | undefined
  code?: string | undefined
  codes?: readonly string[] | undefined
  status?: number
  aborted?: boolean
  durationMs?: number
  route?: string | undefined
  userAgent?: string | undefined
}

/** A `request.completed` event as a context builds it, numbered as the bus numbers it. */
function completed(fields: Fields = {}, seq = 7): RequestCompletedEvent {
  const f = {
    requestId: 'q3Nf0x_Vb8tLc2WmZp1yQa',
    method: 'GET',
    path: '/notes/42',
    ip: '10.0.0.1',
    principal: alice,
    status: 200,
    aborted: false,
    durationMs: 1.23456,
    route: '/notes/:id',
    userAgent: 'curl/8.5.0',
    ...fields,
  }
  const event = new RequestCompletedEvent(
    f.requestId,
    f.method,
    f.path,
    f.ip,
    f.principal,
    f.code,
    f.codes,
    f.status,
    f.aborted,
    f.durationMs,
    f.route,
    f.userAgent,
  )
  event.seq = seq
  return event
}

/** The same event as a plain object, as an emitter that builds it by hand gives it. */
const plainOf = (event: RequestCompletedEvent): SecurityEvent => ({ ...event }) as SecurityEvent

const CASES: [string, Fields][] = [
  ['an ordinary request', {}],
  ['an anonymous request without a route', { principal: undefined, route: undefined, path: '/missing' }],
  ['a denial with its codes', { status: 401, code: 'auth.invalid_token', codes: ['auth.invalid_token'] }],
  [
    'codes after one that names a token',
    { status: 403, code: 'authz.denied', codes: ['auth.token_expired', 'authz.denied'] },
  ],
  ['an aborted request', { aborted: true, status: 200 }],
  ['a server error', { status: 503, code: 'ratelimit.store_unavailable' }],
  ['quotes and backslashes', { userAgent: 'say "hi" \\ bye', path: '/notes/"x"' }],
  ['control characters and line separators', { userAgent: 'a\nb\u2028c\u0085d\u202ee', path: '/a\tb' }],
  ['non-ASCII text', { userAgent: 'Mozilla/5.0 (caf\u00e9; \u65e5\u672c)', path: '/caf\u00e9' }],
  ['a lone surrogate', { userAgent: 'x\ud800y' }],
  ['a token in the user agent and the path', { userAgent: `Bearer ${JWT}`, path: `/cb?access_token=${JWT}` }],
  ['a client request ID with a key shape', { requestId: 'sk_live_abcdefghijklmnop' }],
  ['a very long user agent', { userAgent: 'A'.repeat(5000) }],
  ['an IPv6 client', { ip: '::ffff:127.0.0.1' }],
  ['no IP and no user agent', { ip: undefined, userAgent: undefined }],
  ['a fractional status and a zero duration', { status: 200.5, durationMs: 0 }],
]

describe("a request.completed line written from the context's event", () => {
  for (const patterns of [undefined, [/notes/]]) {
    describe(patterns ? 'with a pattern of the user' : 'with the built-in patterns', () => {
      for (const [name, fields] of CASES) {
        it(`is the record's JSON: ${name}`, () => {
          // One redactor per way, each given the line twice: the second time its memos answer.
          const direct = new Redactor({ patterns }, 200)
          const generic = new Redactor({ patterns }, 200)
          for (let i = 0; i < 2; i++) {
            const event = completed(fields, 7 + i)
            direct.takeUnsafe()
            generic.takeUnsafe()
            const json = completedJson(event, direct)
            expect(json).toBe(JSON.stringify(recordOf(plainOf(event), generic, 'apiward')))
            expect(direct.takeUnsafe()).toBe(generic.takeUnsafe())
            expect(JSON.parse(json).eventSeq).toBe(7 + i)
          }
        })
      }
    })
  }

  it('writes the same record as a plain event of the same fields, and redacts and escapes it', async () => {
    const dir = tempDir()
    const file = join(dir, 'completed.log')
    const bus = newBus()
    const log = auditLog({ destination: { file }, events: bus, checkpointIntervalMs: false })
    const event = completed({
      userAgent: `x\u2028y Bearer ${JWT}`,
      codes: ['auth.invalid_token', 'auth.success'],
      code: 'auth.invalid_token',
      status: 401,
    })
    bus.emit(event as never)
    bus.emit(plainOf(event) as never)
    await log.close()
    const lines = linesOf(file).slice(1, -1)
    expect(lines).toHaveLength(2)
    for (const line of lines) {
      expect(line).not.toContain('\u2028')
      expect(line).not.toContain(JWT)
    }
    const [a, b] = lines.map((line) => JSON.parse(line))
    for (const record of [a, b]) {
      expect(record.userAgent).toBe('x\u2028y [REDACTED]')
      expect(record.codes).toEqual(['auth.invalid_token', 'auth.success'])
    }
    const strip = ({ n: _n, prev: _p, hash: _h, eventSeq: _s, ...rest }: Record<string, unknown>) => rest
    expect(strip(a)).toEqual(strip(b))
    expect(b.eventSeq).toBe(a.eventSeq + 1)
    expect(verifyFiles([file]).ok).toBe(true)
  })

  it('writes an unwritable_event line, not a crash, for an event a listener broke', async () => {
    const dir = tempDir()
    const file = join(dir, 'broken.log')
    const bus = newBus()
    const log = auditLog({ destination: { file }, events: bus, checkpointIntervalMs: false })
    const event = completed()
    event.time = Number.NaN
    bus.emit(event as never)
    bus.emit(completed() as never)
    await log.close()
    const records = linesOf(file)
      .slice(1, -1)
      .map((line) => JSON.parse(line))
    expect(records.map((r) => r.event)).toEqual(['audit.unwritable_event', 'request.completed'])
    expect(records[0].sourceEvent).toBe('request.completed')
    expect(verifyFiles([file]).ok).toBe(true)
  })

  it('leaves the ECS names to the record', async () => {
    const dir = tempDir()
    const file = join(dir, 'ecs.log')
    const bus = newBus()
    const log = auditLog({
      destination: { file },
      events: bus,
      checkpointIntervalMs: false,
      fieldNames: 'ecs',
    })
    bus.emit(completed() as never)
    await log.close()
    const [record] = linesOf(file)
      .slice(1, -1)
      .map((line) => JSON.parse(line))
    expect(record).toMatchObject({
      event: { action: 'request.completed', outcome: 'success' },
      user: { id: 'alice' },
      url: { path: '/notes/:id' },
      user_agent: { original: 'curl/8.5.0' },
    })
  })
})

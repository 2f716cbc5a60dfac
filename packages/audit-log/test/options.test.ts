import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { auditLog, flushOnShutdown } from '../src/index.js'
import { linesOf, newBus, recordsOf, tempDir } from './support.js'

const dir = tempDir()
let counter = 0
const fileName = () => join(dir, `options-${++counter}.log`)

describe('auditLog() options', () => {
  it('refuses an unknown option and names the one meant', () => {
    expect(() => auditLog({ dest: 'stdout' } as never)).toThrow(
      /auditLog\(\): unknown option "dest"; did you mean "destination"\?/,
    )
    expect(() => auditLog({ maxValueLenght: 10 } as never)).toThrow(/did you mean "maxValueLength"/)
    expect(() => auditLog({ redact: { path: ['a'] } } as never)).toThrow(
      /auditLog\(\): redact: unknown option "path"/,
    )
  })

  it('refuses bad values with a TypeError naming the option', () => {
    expect(() => auditLog({ maxValueLength: 0 })).toThrow(TypeError)
    expect(() => auditLog({ maxValueLength: 0 })).toThrow(/maxValueLength must be a positive whole number/)
    expect(() => auditLog({ fieldNames: 'elastic' as never })).toThrow(
      /fieldNames must be 'apiward' or 'ecs'/,
    )
    expect(() => auditLog({ destination: { path: 'x' } as never })).toThrow(/destination must be 'stdout'/)
    expect(() => auditLog({ destination: { file: 42 } as never })).toThrow(/destination.file must be a path/)
    expect(() => auditLog({ bufferBytes: 100, maxBufferBytes: 100 })).toThrow(/maxBufferBytes must be larger/)
    expect(() => auditLog({ bufferBytes: 1 << 20 })).toThrow(/bufferBytes must be below 16384/)
    expect(() => auditLog({ sampling: { 'auth.failure': { window: 1 } as never } })).toThrow(
      /sampling\['auth.failure'\]: unknown option "window"; did you mean "windowMs"/,
    )
    expect(() => auditLog({ sampling: { 'auth.failure': { windowMs: 1000, max: 0 } } })).toThrow(
      /the first occurrence is always written/,
    )
  })

  it('refuses an HMAC key variable that is not set or too short, never falling back to plain hashes', () => {
    delete process.env.AUDIT_UNSET_KEY
    expect(() => auditLog({ hmacKeyEnv: 'AUDIT_UNSET_KEY' })).toThrow(/AUDIT_UNSET_KEY, which is not set/)
    process.env.AUDIT_SHORT_KEY = 'short'
    expect(() => auditLog({ hmacKeyEnv: 'AUDIT_SHORT_KEY' })).toThrow(/shorter than 32 bytes/)
  })

  it('refuses a second writer of one file in the same process', async () => {
    const file = fileName()
    const log = auditLog({ destination: { file }, events: newBus() })
    expect(() => auditLog({ destination: { file }, events: newBus() })).toThrow(
      /already written by this process/,
    )
    await log.close()
    const again = auditLog({ destination: { file }, events: newBus() })
    await again.close()
    expect(recordsOf(file).filter((r) => r.event === 'audit.chain_started')).toHaveLength(2)
  })

  it('refuses a file locked by another running process and takes over a stale lock', async () => {
    const file = fileName()
    writeFileSync(`${file}.lock`, String(process.ppid))
    expect(() => auditLog({ destination: { file }, events: newBus() })).toThrow(
      new RegExp(`written by process ${process.ppid}.*give each process its own file`),
    )
    writeFileSync(`${file}.lock`, '999999999')
    const log = auditLog({ destination: { file }, events: newBus() })
    await log.close()
    expect(linesOf(file)).toHaveLength(2)
  })

  it('checks flushOnShutdown() arguments', () => {
    expect(() => flushOnShutdown({} as never)).toThrow(/pass the audit log/)
    const log = auditLog({ destination: { file: fileName() }, events: newBus() })
    expect(() => flushOnShutdown(log, { signal: ['SIGTERM'] } as never)).toThrow(/unknown option "signal"/)
    expect(() => flushOnShutdown(log, { timeoutMs: -1 })).toThrow(/timeoutMs must be a positive/)
    log.closeSync()
  })
})

describe('flood sampling', () => {
  it('writes the first occurrence, counts the rest and sums them up when the window ends', async () => {
    const file = fileName()
    const bus = newBus()
    const log = auditLog({
      destination: { file },
      events: bus,
      checkpointIntervalMs: false,
      sampling: { 'auth.failure': { windowMs: 60_000, max: 2 } },
    })
    for (let i = 0; i < 100; i++) bus.report('auth.failure', { code: 'auth.invalid_token', ip: '10.0.0.1' })
    bus.report('auth.failure', { code: 'auth.invalid_token', ip: '10.0.0.2' })
    bus.report('auth.success', { credential: 'jwt', ip: '10.0.0.1' })
    for (let i = 0; i < 3; i++)
      bus.report('request.completed', { status: 401, durationMs: 1, aborted: false, ip: '10.0.0.1' })
    expect(log.stats().sampled).toBe(98)
    await log.close()
    const records = recordsOf(file)
    expect(records.filter((r) => r.event === 'auth.failure').map((r) => r.ip)).toEqual([
      '10.0.0.1',
      '10.0.0.1',
      '10.0.0.2',
    ])
    expect(records.filter((r) => r.event === 'request.completed')).toHaveLength(3)
    const summary = records.find((r) => r.event === 'audit.sampled')
    expect(summary).toMatchObject({
      sampledEvent: 'auth.failure',
      reason: 'auth.invalid_token',
      ip: '10.0.0.1',
      count: 100,
      suppressed: 98,
    })
    expect(Date.parse(summary!.lastAt)).toBeGreaterThanOrEqual(Date.parse(summary!.firstAt))
  })

  it("starts a new window after the old one ended, writing the old one's summary first", async () => {
    const file = fileName()
    const bus = newBus()
    const log = auditLog({
      destination: { file },
      events: bus,
      checkpointIntervalMs: false,
      sampling: { 'auth.failure': { windowMs: 100 } },
    })
    // The first two in one window (reported in the same tick), the third well after it ended.
    bus.report('auth.failure', { code: 'auth.invalid_token' })
    bus.report('auth.failure', { code: 'auth.invalid_token' })
    await new Promise((done) => setTimeout(done, 250))
    bus.report('auth.failure', { code: 'auth.invalid_token' })
    await log.close()
    expect(
      recordsOf(file)
        .map((r) => r.event)
        .slice(1, -1),
    ).toEqual(['auth.failure', 'audit.sampled', 'auth.failure'])
  })

  it('leaves request.completed alone unless its type is sampled', async () => {
    const file = fileName()
    const bus = newBus()
    const log = auditLog({
      destination: { file },
      events: bus,
      sampling: { 'request.completed': { windowMs: 60_000 } },
    })
    for (let i = 0; i < 5; i++)
      bus.report('request.completed', { status: 200, durationMs: 1, aborted: false })
    await log.close()
    expect(recordsOf(file).filter((r) => r.event === 'request.completed')).toHaveLength(1)
  })
})

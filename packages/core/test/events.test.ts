import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { describe, expect, it } from 'vitest'
import { testContext } from './support.js'

describe('SecurityEventBus', () => {
  it('numbers events in one process-wide sequence, across buses', () => {
    const a = new SecurityEventBus()
    const b = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    a.on((e) => seen.push(e))
    b.on((e) => seen.push(e))
    testContext({ events: a }).emit('test.happened')
    b.report('test.happened', { n: 2 })
    testContext({ events: a }).emit('test.happened', { severity: 'warn' })
    const seqs = seen.map((e) => e.seq)
    expect(seqs[1]).toBe(seqs[0]! + 1)
    expect(seqs[2]).toBe(seqs[1]! + 1)
  })

  it('reports events that belong to no request, with a time and a severity', () => {
    const bus = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    bus.on((e) => seen.push(e))
    const before = Date.now()
    bus.report('test.reloaded', { severity: 'error', policyVersion: 3 })
    expect(seen[0]).toMatchObject({ type: 'test.reloaded', severity: 'error', policyVersion: 3 })
    expect(seen[0]!.time).toBeGreaterThanOrEqual(before)
    expect(seen[0]!.requestId).toBeUndefined()
    bus.report('test.happened')
    expect(seen[1]!.severity).toBe('info')
  })

  it('keeps delivering when a listener throws', () => {
    const bus = new SecurityEventBus()
    const seen: string[] = []
    bus.on(() => {
      throw new Error('broken listener')
    })
    bus.on((e) => seen.push(e.type))
    bus.report('test.happened', { n: 1 })
    bus.report('test.reloaded', { policyVersion: 1 })
    expect(seen).toEqual(['test.happened', 'test.reloaded'])
  })
})

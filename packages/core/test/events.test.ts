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
    testContext({ events: a }).emit('auth.success')
    b.report('auth.jwks_refreshed', { keys: 2 })
    testContext({ events: a }).emit('auth.failure', { severity: 'warn' })
    const seqs = seen.map((e) => e.seq)
    expect(seqs[1]).toBe(seqs[0]! + 1)
    expect(seqs[2]).toBe(seqs[1]! + 1)
  })

  it('reports events that belong to no request, with a time and a severity', () => {
    const bus = new SecurityEventBus()
    const seen: SecurityEvent[] = []
    bus.on((e) => seen.push(e))
    const before = Date.now()
    bus.report('authz.reload_failed', { severity: 'error', policyVersion: 3 })
    expect(seen[0]).toMatchObject({ type: 'authz.reload_failed', severity: 'error', policyVersion: 3 })
    expect(seen[0]!.time).toBeGreaterThanOrEqual(before)
    expect(seen[0]!.requestId).toBeUndefined()
    bus.report('auth.jwks_refreshed')
    expect(seen[1]!.severity).toBe('info')
  })

  it('keeps delivering when a listener throws', () => {
    const bus = new SecurityEventBus()
    const seen: string[] = []
    bus.on(() => {
      throw new Error('broken listener')
    })
    bus.on((e) => seen.push(e.type))
    bus.report('auth.success')
    bus.report('auth.failure')
    expect(seen).toEqual(['auth.success', 'auth.failure'])
  })
})

import type { SecurityEvent } from '@apiward/core'

/** How repeated identical events of one type are sampled. */
export interface SamplingRule {
  /** The window in milliseconds within which identical events count as one flood. */
  windowMs: number
  /**
   * How many identical events of a window are written in full; the rest are counted and summed
   * up in one `audit.sampled` line when the window ends. Default 1: the first occurrence is always
   * written.
   */
  max?: number
}

/** The summary of the events sampled away in one window. */
export interface SampledSummary {
  sampledEvent: string
  reason: string | undefined
  ip: string | undefined
  principal: string | undefined
  /** How many identical events the window saw in all, the written ones included. */
  count: number
  /** How many of them were not written in full. */
  suppressed: number
  firstAt: number
  lastAt: number
}

interface Window {
  event: SecurityEvent
  start: number
  count: number
  written: number
  last: number
}

/** At most this many distinct floods are tracked at once; beyond, events are written in full. */
const MAX_WINDOWS = 10_000

/**
 * The flood sampler of one audit log: identical events (same type, code, IP and principal) of a
 * sampled type are written up to `max` times per window, the others counted; `expire()` returns
 * the summaries of ended windows that suppressed something.
 */
export class Sampler {
  readonly #rules: ReadonlyMap<string, Required<SamplingRule>>
  readonly #windows = new Map<string, Window>()

  constructor(rules: ReadonlyMap<string, Required<SamplingRule>>) {
    this.#rules = rules
  }

  /** Whether any type is sampled. */
  get active(): boolean {
    return this.#rules.size > 0
  }

  /**
   * Whether an event is written in full. An event whose window ended starts a new one, and the old
   * window's summary goes to `summaries`.
   */
  admit(event: SecurityEvent, now: number, summaries: SampledSummary[]): boolean {
    const rule = this.#rules.get(event.type)
    if (rule === undefined) return true
    const key = `${event.type}\u0000${event.code ?? ''}\u0000${event.ip ?? ''}\u0000${event.principal ?? ''}`
    let window = this.#windows.get(key)
    if (window !== undefined && now - window.start >= rule.windowMs) {
      const summary = summaryOf(window)
      if (summary !== undefined) summaries.push(summary)
      this.#windows.delete(key)
      window = undefined
    }
    if (window === undefined) {
      if (this.#windows.size >= MAX_WINDOWS) return true
      this.#windows.set(key, { event, start: now, count: 1, written: 1, last: now })
      return true
    }
    window.count++
    window.last = now
    if (window.written < rule.max) {
      window.written++
      return true
    }
    return false
  }

  /** The summaries of the windows that ended by `now` (all of them with `all`), which are forgotten. */
  expire(now: number, all = false): SampledSummary[] {
    const out: SampledSummary[] = []
    for (const [key, window] of this.#windows) {
      const rule = this.#rules.get(window.event.type)!
      if (!all && now - window.start < rule.windowMs) continue
      this.#windows.delete(key)
      const summary = summaryOf(window)
      if (summary !== undefined) out.push(summary)
    }
    return out
  }
}

function summaryOf(window: Window): SampledSummary | undefined {
  if (window.count === window.written) return undefined
  const { event } = window
  return {
    sampledEvent: event.type,
    reason: event.code,
    ip: event.ip,
    principal: event.principal,
    count: window.count,
    suppressed: window.count - window.written,
    firstAt: window.start,
    lastAt: window.last,
  }
}

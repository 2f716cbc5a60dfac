/**
 * The security events of `@apiward/audit-log`, by type, with their fields. They join core's
 * `SecurityEventMap`, so listeners narrow on `event.type`. The audit log writes its own lines
 * for them as well (`audit.dropped` once the sink has room again).
 */
export interface AuditEventMap {
  /** Lines were dropped because the sink was slower than the events (its buffer was full). */
  'audit.dropped': {
    /** How many lines were dropped since the last report. */
    dropped: number
    /** Milliseconds since the epoch of the first and the last dropped line. */
    firstDropAt: number
    lastDropAt: number
  }
  /** The sink failed (a write error, a closed descriptor); lines written meanwhile count as dropped. */
  'audit.error': {
    /** The sink error's message. */
    detail: string
  }
}

declare module '@apiward/core' {
  interface SecurityEventMap extends AuditEventMap {}
}

/** A security event type of `@apiward/audit-log`. */
export type AuditEventType = keyof AuditEventMap

/**
 * Every security event type `@apiward/audit-log` emits on the bus (a type test keeps it equal to
 * {@link AuditEventMap}).
 *
 * @example
 * ```ts
 * securityEvents.on((event) => {
 *   if (event.type === 'audit.dropped') alert(`${event.dropped} audit lines lost`)
 * })
 * ```
 */
export const AUDIT_EVENTS = ['audit.dropped', 'audit.error'] as const satisfies readonly AuditEventType[]

/**
 * The line types the audit log writes of its own, besides the events it receives: the chain's
 * start, checkpoints, its end, the report of dropped lines and the summary of sampled floods.
 */
export const AUDIT_LINES = [
  'audit.chain_started',
  'audit.checkpoint',
  'audit.chain_closed',
  'audit.dropped',
  'audit.sampled',
] as const

/** A line type the audit log writes of its own: one of {@link AUDIT_LINES}. */
export type AuditLineType = (typeof AUDIT_LINES)[number]

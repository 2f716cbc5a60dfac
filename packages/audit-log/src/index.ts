export {
  type AuditCheckpoint,
  type AuditDestination,
  type AuditLog,
  type AuditLogOptions,
  type AuditLogStats,
  auditLog,
} from './audit-log.js'
export { GENESIS, lineHash } from './chain.js'
export {
  AUDIT_EVENTS,
  AUDIT_LINES,
  type AuditEventMap,
  type AuditEventType,
  type AuditLineType,
} from './events.js'
export { type FieldNames, type Outcome, outcomeOf } from './record.js'
export { escapeJson, type RedactOptions } from './redact.js'
export type { SampledSummary, SamplingRule } from './sampling.js'
export { flushOnShutdown, type ShutdownOptions } from './shutdown.js'
export type { AuditStream } from './sink.js'
export { formatLine } from './tail.js'
export {
  type ChainAnchor,
  type ChainProblem,
  type ChainProblemKind,
  type VerifyOptions,
  type VerifyResult,
  verifyFiles,
} from './verify.js'

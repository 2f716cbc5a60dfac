import type { RequestCompletedEvent, SecurityEvent } from '@apiward/core'
import type { Redactor } from './redact.js'

/**
 * The field names of a line: apiward's own (`time`, `event`, `outcome`, `principal`, ...) or the
 * Elastic Common Schema's (`@timestamp`, `event.action`, `user.id`, ...) for a SIEM that reads ECS.
 */
export type FieldNames = 'apiward' | 'ecs'

/** `success`, `failure` or `unknown`, as ECS `event.outcome` spells it. */
export type Outcome = 'success' | 'failure' | 'unknown'

/**
 * Whether an event field is one every line maps by name; every other field is written as it is,
 * redacted. A `switch` over the names: each key of every event is tested, and comparing a key with
 * these literals costs less than a `Set` lookup.
 */
function isMapped(key: string): boolean {
  switch (key) {
    case 'type':
    case 'time':
    case 'seq':
    case 'severity':
    case 'requestId':
    case 'method':
    case 'path':
    case 'ip':
    case 'principal':
    case 'code':
    case 'status':
    case 'durationMs':
    case 'aborted':
    case 'route':
    case 'credential':
    case 'policyVersion':
    case 'userAgent':
      return true
    default:
      return false
  }
}

/** Names a line gives its own fields: an event field of the same name is written as `_<name>`. */
const RESERVED = new Set([
  'event',
  'outcome',
  'level',
  'reason',
  'eventSeq',
  'chain',
  'n',
  'prev',
  'hash',
  '@timestamp',
])

const FAILURE = /(?:\.failure|\.denied|\.exceeded|\.rejected|\.blocked|\.error|_failed|\.degraded|\.dropped)$/
const SUCCESS = /(?:\.success|\.refreshed|\.reloaded|\.granted|\.allowed)$/

/** The outcome of an event: from its status when it has one, else from its type. */
export function outcomeOf(event: SecurityEvent): Outcome {
  const status = event.status
  if (typeof status === 'number') return status < 400 && event.aborted !== true ? 'success' : 'failure'
  if (FAILURE.test(event.type) || event.severity === 'error') return 'failure'
  return SUCCESS.test(event.type) ? 'success' : 'unknown'
}

const str = (value: unknown, redactor: Redactor): string | undefined =>
  typeof value === 'string' ? redactor.text(value) : undefined
/** `str()` of a field whose values repeat from line to line; `slot` is the field's (`Redactor.labelIn`). */
const label = (value: unknown, redactor: Redactor, slot: number): string | undefined =>
  typeof value === 'string' ? redactor.labelIn(slot, value) : undefined

/** The fields `label()` remembers the last value of. */
const Slot = {
  Route: 0,
  Type: 1,
  Severity: 2,
  Principal: 3,
  Credential: 4,
  Ip: 5,
  Method: 6,
  Code: 7,
  UserAgent: 8,
} as const
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

/** The fields of an event beyond the mapped ones, redacted; `undefined` when it has none. */
function extrasOf(event: SecurityEvent, redactor: Redactor): Record<string, unknown> | undefined {
  let extras: Record<string, unknown> | undefined
  for (const key in event) {
    if (isMapped(key)) continue
    const raw = event[key]
    if (raw === undefined) continue
    extras ??= {}
    const text = redactor.text(key)
    const name = RESERVED.has(text) ? `_${text}` : text
    if (redactor.isSecretKey(name)) extras[name] = redactor.censor
    else if (key === 'codes' && Array.isArray(raw)) extras[name] = codesOf(raw, redactor)
    else {
      const value = redactor.value(raw)
      if (value !== undefined) extras[name] = value
    }
  }
  return extras
}

/**
 * The `codes` of a `request.completed` event: apiward's stable codes, each written as a label (a
 * code next to one that names a token is not a header's value, as in a raw header list).
 */
function codesOf(codes: readonly unknown[], redactor: Redactor): unknown[] {
  return codes
    .slice(0, 100)
    .map((code) => (typeof code === 'string' ? redactor.label(code) : redactor.value(code)))
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000

let lastTime = Number.NaN
let lastIso = ''
/** The ISO text of a time in milliseconds; the last one is remembered, as lines come in bursts. */
function isoOf(time: number): string {
  if (time !== lastTime) {
    lastIso = new Date(time).toISOString()
    lastTime = time
  }
  return lastIso
}

/**
 * The JSON of the record of a `request.completed` event built by an adapter's context, straight
 * from its fields: the same text as `JSON.stringify(recordOf(event, redactor, 'apiward'))`, without
 * the record object, the search for further fields, or the serialiser's walk over it.
 */
export function completedJson(event: RequestCompletedEvent, redactor: Redactor): string {
  const r = redactor
  const status = event.status
  const aborted = event.aborted
  const time = typeof event.time === 'number' ? isoOf(event.time) : new Date().toISOString()
  const outcome =
    typeof status === 'number'
      ? status < 400 && aborted !== true
        ? 'success'
        : 'failure'
      : outcomeOf(event as unknown as SecurityEvent)
  let json = `{"time":"${time}","event":${r.quotedIn(Slot.Type, event.type)},"outcome":"${outcome}"`
  if (typeof event.severity === 'string') json += `,"level":${r.quotedIn(Slot.Severity, event.severity)}`
  if (typeof event.requestId === 'string') json += `,"requestId":${r.quoted(event.requestId)}`
  if (typeof event.principal === 'string')
    json += `,"principal":${r.quotedIn(Slot.Principal, event.principal)}`
  if (typeof event.credential === 'string')
    json += `,"credential":${r.quotedIn(Slot.Credential, event.credential)}`
  if (typeof event.ip === 'string') json += `,"ip":${r.quotedIn(Slot.Ip, event.ip)}`
  if (typeof event.method === 'string') json += `,"method":${r.quotedIn(Slot.Method, event.method)}`
  const path = typeof event.path === 'string' ? r.quoted(event.path) : undefined
  if (typeof event.route === 'string') {
    json += `,"route":${r.quotedIn(Slot.Route, event.route)}`
    if (path !== undefined) json += `,"path":${path}`
  } else if (path !== undefined) json += `,"route":${path}`
  if (Number.isFinite(status)) json += `,"status":${status}`
  if (typeof event.code === 'string') json += `,"reason":${r.quotedIn(Slot.Code, event.code)}`
  if (Number.isFinite(event.durationMs)) json += `,"durationMs":${round(event.durationMs)}`
  if (typeof aborted === 'boolean') json += `,"aborted":${aborted}`
  if (typeof event.userAgent === 'string')
    json += `,"userAgent":${r.quotedIn(Slot.UserAgent, event.userAgent)}`
  if (Number.isFinite(event.seq)) json += `,"eventSeq":${event.seq}`
  const codes = event.codes
  if (Array.isArray(codes)) json += `,"codes":${JSON.stringify(codesOf(codes, r))}`
  else if (codes !== undefined) {
    const value = r.value(codes)
    if (value !== undefined) json += `,"codes":${JSON.stringify(value)}`
  }
  return `${json}}`
}

/**
 * The record of one event, before its chain fields: every field redacted, user-controlled text
 * scrubbed of secrets and cut to the length limit. Fields without a value are left out.
 */
export function recordOf(
  event: SecurityEvent,
  redactor: Redactor,
  names: FieldNames,
): Record<string, unknown> {
  const time = new Date(typeof event.time === 'number' ? event.time : Date.now()).toISOString()
  const route = label(event.route, redactor, Slot.Route) ?? str(event.path, redactor)
  const durationMs = num(event.durationMs)
  const extras = extrasOf(event, redactor)
  if (names === 'ecs') {
    const apiward: Record<string, unknown> = { ...extras }
    if (typeof event.route === 'string' && typeof event.path === 'string')
      apiward.path = redactor.text(event.path)
    if (event.credential !== undefined) apiward.credential = str(event.credential, redactor)
    if (typeof event.aborted === 'boolean') apiward.aborted = event.aborted
    if (event.policyVersion !== undefined) apiward.policyVersion = redactor.value(event.policyVersion)
    if (typeof event.seq === 'number') apiward.eventSeq = event.seq
    return {
      '@timestamp': time,
      event: {
        action: redactor.text(event.type),
        outcome: outcomeOf(event),
        reason: str(event.code, redactor),
        duration: durationMs === undefined ? undefined : Math.round(durationMs * 1e6),
      },
      log: { level: str(event.severity, redactor) },
      trace: event.requestId === undefined ? undefined : { id: str(event.requestId, redactor) },
      user: event.principal === undefined ? undefined : { id: str(event.principal, redactor) },
      source: event.ip === undefined ? undefined : { ip: str(event.ip, redactor) },
      http:
        event.method === undefined && event.status === undefined
          ? undefined
          : {
              request: event.method === undefined ? undefined : { method: str(event.method, redactor) },
              response: num(event.status) === undefined ? undefined : { status_code: event.status },
            },
      url: route === undefined ? undefined : { path: route },
      user_agent: event.userAgent === undefined ? undefined : { original: str(event.userAgent, redactor) },
      apiward,
    }
  }
  return {
    time,
    event: redactor.labelIn(Slot.Type, event.type),
    outcome: outcomeOf(event),
    level: label(event.severity, redactor, Slot.Severity),
    requestId: str(event.requestId, redactor),
    principal: label(event.principal, redactor, Slot.Principal),
    credential: label(event.credential, redactor, Slot.Credential),
    ip: label(event.ip, redactor, Slot.Ip),
    method: label(event.method, redactor, Slot.Method),
    route,
    path: typeof event.route === 'string' ? str(event.path, redactor) : undefined,
    status: num(event.status),
    reason: label(event.code, redactor, Slot.Code),
    durationMs: durationMs === undefined ? undefined : round(durationMs),
    aborted: typeof event.aborted === 'boolean' ? event.aborted : undefined,
    policyVersion: event.policyVersion === undefined ? undefined : redactor.value(event.policyVersion),
    userAgent: label(event.userAgent, redactor, Slot.UserAgent),
    eventSeq: num(event.seq),
    ...extras,
  }
}

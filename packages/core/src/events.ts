import type { Principal } from './principal.js'
import { warnOnce } from './warn.js'

/**
 * The extra fields of each security event type, by type. Declaration-merged: core declares its
 * own events here and every package that emits events declares them by module augmentation, so
 * `ctx.emit()` and `bus.report()` accept only declared types with their fields, and a listener
 * narrows on `event.type`:
 *
 * @example
 * ```ts
 * declare module '@apiward/core' {
 *   interface SecurityEventMap {
 *     'tenant.mismatch': { tenant: string }
 *   }
 * }
 * ctx.emit('tenant.mismatch', { severity: 'warn', tenant })
 * ```
 */
export interface SecurityEventMap {
  /** A 5xx answer: an unexpected error (the client saw a generic 500) or an `ApiError` such as a store outage's 503. */
  'server.error': {
    /** The original error (the `cause` of a rendered `ApiError`), for the log only. */
    error: unknown
  }
  /** An `onFinish` listener threw; the other listeners still ran. */
  'server.listener_error': {
    /** The thrown error's message. */
    detail: string
  }
  /**
   * A request that passed an adapter (its guards or its error handling) was answered, or its
   * client went away. Built only while a subscriber asked for it (`bus.want('request.completed')`),
   * so requests cost nothing more when no one does. `code` is the rendered error's code.
   */
  'request.completed': {
    /** The status sent (or about to be sent when the client went away). */
    status: number
    /** Milliseconds from the request's context to the end of the response. */
    durationMs: number
    /** `true` when the connection closed before the response was fully written. */
    aborted: boolean
    /** The route pattern, when the router knew it. */
    route?: string
    /** The credential kind of the principal, when one was established. */
    credential?: string
    /** The request's `User-Agent`, as the client sent it (untrusted text). */
    userAgent?: string
    /**
     * The codes of the request's events and of its answer, each once, in order (an
     * `auth.invalid_token` before another credential passed, a `ratelimit.degraded` store).
     */
    codes?: readonly string[]
  }
}

/** A declared security event type: a key of {@link SecurityEventMap}. */
export type SecurityEventType = keyof SecurityEventMap

/** The fields every security event has, whatever its type. */
export interface SecurityEventBase {
  /** Dotted event type, e.g. `auth.success`, `auth.failure`, `ratelimit.exceeded`. */
  type: string
  /** Milliseconds since the epoch. */
  time: number
  /**
   * The event's place in this process's sequence, from 1, set by the bus: a gap in a log that
   * received every event means lines were lost, and equal times still have an order.
   */
  seq: number
  /** `info` for expected outcomes, `warn` for denials and degraded modes, `error` for failures. */
  severity: 'info' | 'warn' | 'error'
  requestId?: string
  method?: string
  path?: string
  ip?: string
  /** The principal's id, when one was established. */
  principal?: string
  /** The stable code of the decision, e.g. `auth.token_expired`: internal, never sent to clients. */
  code?: string
}

/** The event of one type: the common fields, `type` narrowed to `K`, and that type's fields. */
export type SecurityEventOf<K extends SecurityEventType> = Omit<SecurityEventBase, 'type'> & {
  type: K
} & SecurityEventMap[K]

/**
 * Every declared event as a discriminated union on `type`: what listeners receive. Checking
 * `event.type` narrows to that event's fields.
 *
 * @example
 * ```ts
 * securityEvents.on((event) => {
 *   if (event.type === 'ratelimit.exceeded') metrics.retryAfter(event.retryAfter)
 * })
 * ```
 */
export type AnySecurityEvent = { [K in SecurityEventType]: SecurityEventOf<K> }[SecurityEventType]

/**
 * A security-relevant fact, typed loosely (any type, any further field): the shape to store or
 * forward events in without caring which they are. Every {@link AnySecurityEvent} is one.
 */
export interface SecurityEvent extends SecurityEventBase {
  /** Further fields of the event. Never secrets: guards put hashes or ids here, not tokens. */
  [field: string]: unknown
}

/** What an emitter gives for an event of type `K`: its own fields and any common one but `type` and `seq`. */
export type SecurityEventFields<K extends SecurityEventType> = Partial<
  Omit<SecurityEventBase, 'type' | 'seq'>
> &
  SecurityEventMap[K]

/**
 * The `fields` argument of `emit(type, fields)` / `report(type, fields)`: optional when the
 * event has no required field of its own, required otherwise.
 */
export type SecurityEventFieldsArg<K extends SecurityEventType> =
  // `{}` extends a type exactly when none of its fields is required.
  {} extends SecurityEventMap[K] ? [fields?: SecurityEventFields<K>] : [fields: SecurityEventFields<K>]

/** An event as emitters hand it to the bus, which numbers it (`seq`). */
export type SecurityEventInput = {
  [K in SecurityEventType]: Omit<SecurityEventOf<K>, 'seq'> & { seq?: number }
}[SecurityEventType]

/**
 * A `request.completed` event as an adapter's context builds it: the fields of
 * {@link SecurityEventMap}'s `request.completed` and the common ones, and no other. A listener that
 * finds an event to be one (`instanceof`) may read its fields without looking for others: the audit
 * log writes its line straight from them. An event emitted by hand with the same type is a plain
 * object and is read field by field.
 */
export class RequestCompletedEvent {
  readonly type = 'request.completed' as const
  /** Set by the bus when it delivers the event. */
  seq = 0
  time: number
  severity: 'info' | 'warn' | 'error'
  requestId: string
  method: string
  path: string
  ip: string | undefined
  principal: string | undefined
  code: string | undefined
  codes: readonly string[] | undefined
  status: number
  aborted: boolean
  durationMs: number
  route: string | undefined
  credential: string | undefined
  userAgent: string | undefined

  constructor(
    requestId: string,
    method: string,
    path: string,
    ip: string | undefined,
    principal: Principal | undefined,
    code: string | undefined,
    codes: readonly string[] | undefined,
    status: number,
    aborted: boolean,
    durationMs: number,
    route: string | undefined,
    userAgent: string | undefined,
  ) {
    this.time = Date.now()
    this.severity = status >= 500 ? 'error' : status >= 400 || aborted ? 'warn' : 'info'
    this.requestId = requestId
    this.method = method
    this.path = path
    this.ip = ip
    this.principal = principal?.id
    this.code = code
    this.codes = codes
    this.status = status
    this.aborted = aborted
    this.durationMs = durationMs
    this.route = route
    this.credential = principal?.credential
    this.userAgent = userAgent
  }
}

const kSeq = Symbol.for('apiward.eventSeq')
const counter = globalThis as { [kSeq]?: number }

/** The next number of the process-wide event sequence, shared by every copy of this package. */
function nextSeq(): number {
  const seq = (counter[kSeq] ?? 0) + 1
  counter[kSeq] = seq
  return seq
}

/** A subscriber to security events. It must not throw; a throwing listener is isolated. */
export type SecurityEventListener = (event: AnySecurityEvent) => void

/**
 * A synchronous fan-out of security events. Feature packages emit, the audit log (or any
 * listener) subscribes, and neither imports the other. Emitting without listeners costs a
 * length check.
 *
 * @example
 * ```ts
 * const off = securityEvents.on((event) => console.log(event.type, event.code))
 * ```
 */
export class SecurityEventBus {
  #listeners: SecurityEventListener[] = []
  #wanted = new Map<string, number>()

  /** Subscribes and returns the function that unsubscribes. */
  on(listener: SecurityEventListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('SecurityEventBus.on(listener) needs a function')
    this.#listeners = [...this.#listeners, listener]
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener)
    }
  }

  /**
   * Emits an event that belongs to no request (a JWKS refresh, a policy reload, a store outage
   * noticed in the background), with the time and a severity (`info` unless `fields` say
   * otherwise). Costs nothing when no one listens.
   *
   * @example
   * ```ts
   * securityEvents.report('jwks.refreshed', { keys: 3, durationMs: 120 })
   * ```
   */
  report<K extends SecurityEventType>(type: K, ...fields: SecurityEventFieldsArg<K>): void
  report(type: SecurityEventType, fields?: Partial<SecurityEvent>): void {
    if (this.#listeners.length === 0) return
    this.emit({ severity: 'info', ...fields, type, time: fields?.time ?? Date.now() } as SecurityEventInput)
  }

  /**
   * Asks for an event type that emitters build only on demand (`request.completed`, one per
   * request) and returns the function that withdraws the request. Each call counts; the type is
   * built while at least one request stands and a listener is subscribed.
   *
   * @example
   * ```ts
   * const off = securityEvents.on(write)
   * const unwant = securityEvents.want('request.completed')
   * ```
   */
  want(type: SecurityEventType): () => void {
    this.#wanted.set(type, (this.#wanted.get(type) ?? 0) + 1)
    let withdrawn = false
    return () => {
      if (withdrawn) return
      withdrawn = true
      const left = (this.#wanted.get(type) ?? 1) - 1
      if (left > 0) this.#wanted.set(type, left)
      else this.#wanted.delete(type)
    }
  }

  /** Whether an on-demand event type is wanted (`want()`) and someone listens. */
  listens(type: SecurityEventType): boolean {
    return this.#listeners.length > 0 && this.#wanted.has(type)
  }

  /** Whether anyone listens; emitters skip building events when nobody does. */
  get hasListeners(): boolean {
    return this.#listeners.length > 0
  }

  /**
   * Delivers an event to every listener, numbered with the process's next `seq`. A listener that
   * throws does not stop the others.
   */
  emit(input: SecurityEventInput): void {
    const event = input as AnySecurityEvent
    event.seq = nextSeq()
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (err) {
        warnOnce(
          'APIWARD_LISTENER_ERROR',
          `A security event listener threw on "${event.type}": ${err instanceof Error ? err.message : String(err)}. Listeners must not throw; later throws are not reported again.`,
          'core.md#security-events',
        )
      }
    }
  }
}

const kBus = Symbol.for('apiward.securityEvents')
const holder = globalThis as { [kBus]?: SecurityEventBus }

/**
 * The process-wide bus that guards emit to unless an adapter is given another one. It is
 * shared through `globalThis`, so duplicated copies of this package still meet on one bus.
 */
holder[kBus] ??= new SecurityEventBus()
export const securityEvents: SecurityEventBus = holder[kBus]

import { warnOnce } from './warn.js'

/** A security-relevant fact: an authentication, a denial, a rate-limit decision, a degraded store... */
export interface SecurityEvent {
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
  /** Further fields of the event. Never secrets: guards put hashes or ids here, not tokens. */
  [field: string]: unknown
}

/** An event as emitters hand it to the bus, which numbers it (`seq`). */
export type SecurityEventInput = Omit<SecurityEvent, 'seq'> & { seq?: number }

const kSeq = Symbol.for('apiward.eventSeq')
const counter = globalThis as { [kSeq]?: number }

/** The next number of the process-wide event sequence, shared by every copy of this package. */
function nextSeq(): number {
  const seq = (counter[kSeq] ?? 0) + 1
  counter[kSeq] = seq
  return seq
}

/** A subscriber to security events. It must not throw; a throwing listener is isolated. */
export type SecurityEventListener = (event: SecurityEvent) => void

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
   * securityEvents.report('auth.jwks_refreshed', { keys: 3, uri: jwksUri })
   * ```
   */
  report(type: string, fields?: Partial<Omit<SecurityEvent, 'type' | 'seq'>>): void {
    if (this.#listeners.length === 0) return
    this.emit({ severity: 'info', ...fields, type, time: fields?.time ?? Date.now() })
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
    const event = input as SecurityEvent
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

import type { SecurityContext } from '@apiward/core'

/** Whether a callback answered with a promise (or any thenable), which must be awaited. */
export function isThenable<T = unknown>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<T>).then === 'function'
}

/** What a callback answered, for an error message: its type, never its content. */
function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : typeof value
}

/** The error that stands for an answer a callback may not give, e.g. `undefined` where a boolean is due. */
export function misread(callback: string, answer: unknown, expected: string): TypeError {
  return new TypeError(`${callback} answered ${kindOf(answer)}, not ${expected}`)
}

/** Which callback failed and how the request was answered, for the `auth.error` event. */
export interface CallbackFailure {
  /** The code of the answer the request got, e.g. `auth.invalid_token` or `auth.unavailable`. */
  readonly code: string
  /** The kind of credential being checked, when known. */
  readonly credential?: 'jwt' | 'api_key'
  /** The callback, e.g. `validate`, `isRevoked` or `session.hasCredential`. */
  readonly callback: string
}

/**
 * Emits `auth.error` for a callback that threw, rejected or answered what it may not: the
 * operator learns of the bug or the outage, the client only gets the documented answer.
 */
export function reportCallbackError(ctx: SecurityContext, failure: CallbackFailure, err: unknown): void {
  ctx.emit('auth.error', {
    severity: 'error',
    ...failure,
    detail: err instanceof Error ? err.message : String(err),
    error: err,
  })
}

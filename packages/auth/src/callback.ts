import type { SecurityContext } from '@apiward/core'
import type { ApiError } from '@apiward/errors'

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
  readonly credential?: 'jwt' | 'api_key' | 'introspection'
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

/**
 * Runs a `validate(payload, ctx)` callback and reads its answer strictly: only `true` accepts
 * (returns, or resolves); `false`, any other answer, a throw or a rejection throw `refused(ctx)`,
 * the caller's 401, so a check that forgets to answer fails closed. An answer that is not a
 * boolean, a throw and a rejection are also reported as `auth.error`. A synchronous answer
 * stays synchronous.
 */
export function runValidate<P>(
  ctx: SecurityContext,
  validate: (payload: P, ctx: SecurityContext) => unknown,
  payload: P,
  failure: CallbackFailure,
  refused: (ctx: SecurityContext) => ApiError,
): void | Promise<void> {
  let answer: unknown
  try {
    answer = validate(payload, ctx)
  } catch (err) {
    return validateFailed(ctx, failure, refused, err)
  }
  if (!isThenable(answer)) return readValidated(ctx, failure, refused, answer)
  return Promise.resolve(answer).then(
    (settled) => readValidated(ctx, failure, refused, settled),
    (err: unknown) => validateFailed(ctx, failure, refused, err),
  )
}

function readValidated(
  ctx: SecurityContext,
  failure: CallbackFailure,
  refused: (ctx: SecurityContext) => ApiError,
  answer: unknown,
): void {
  if (answer === true) return
  if (answer !== false) reportCallbackError(ctx, failure, misread(failure.callback, answer, 'true or false'))
  throw refused(ctx)
}

function validateFailed(
  ctx: SecurityContext,
  failure: CallbackFailure,
  refused: (ctx: SecurityContext) => ApiError,
  err: unknown,
): never {
  reportCallbackError(ctx, failure, err)
  throw refused(ctx)
}

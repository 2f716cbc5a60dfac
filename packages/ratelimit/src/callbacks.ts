import { type SecurityContext, warnOnce } from '@apiward/core'
import { ServiceUnavailable } from '@apiward/errors'

/** Whether a callback answered with a promise (or any thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  )
}

/** What a callback answered, for a message: its type, never a text (it may be a secret). */
function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'number') return `the number ${value}`
  if (Array.isArray(value)) return 'an array'
  if (isThenable(value)) return 'a promise'
  return typeof value === 'object' ? 'an object' : typeof value
}

/** Which callback of which guard, for events and messages. */
export interface CallbackSite {
  /** The guard, as its events name it: `rateLimit`, `bruteForce`, `ipFilter`. */
  readonly guard: string
  /** The option, e.g. `skip`, `key`, `cost(ctx)`, `ipFrom`, `username`, `verdict`. */
  readonly callback: string
}

/**
 * Emits `ratelimit.error` for a callback that threw or answered what it may not: the operator
 * learns of the bug, the client only gets the documented refusal.
 */
export function reportCallback(ctx: SecurityContext, site: CallbackSite, err: unknown): void {
  ctx.emit('ratelimit.error', {
    severity: 'error',
    code: 'ratelimit.unavailable',
    guard: site.guard,
    callback: site.callback,
    detail: err instanceof Error ? err.message : String(err),
    error: err,
  })
}

/**
 * The answer to a request a guard cannot decide on because one of its callbacks failed: the
 * documented 503 `ratelimit.unavailable` with `Retry-After`, as when the store is unavailable. It
 * is a refusal, never a pass: a throwing `skip` must not skip, a throwing key function must not
 * put every request in one bucket. The request is refused rather than counted some other way,
 * so the failure is loud and no client can trigger a weaker limit by making the callback throw.
 */
export function callbackFailed(ctx: SecurityContext, site: CallbackSite, err: unknown): ServiceUnavailable {
  reportCallback(ctx, site, err)
  return new ServiceUnavailable({
    code: 'ratelimit.unavailable',
    detail: 'This request cannot be checked right now; retry later.',
    retryAfter: 1,
    cause: err,
  })
}

/**
 * Names the fix, once per process, for a callback that answered a promise or a value of the
 * wrong kind: a bug of the configuration, not of the request. A promise's rejection is handled
 * here, so it cannot crash the process as an unhandled rejection. `outcome` says what requests
 * get meanwhile.
 */
function misanswered(site: CallbackSite, answer: unknown, expected: string, outcome: string): TypeError {
  const where = `${site.guard}() ${site.callback}`
  if (isThenable(answer)) {
    Promise.resolve(answer).catch(() => {})
    const err = new TypeError(`${where} returned a promise; it must return ${expected} synchronously`)
    warnOnce(
      'APIWARD_ASYNC_CALLBACK',
      `${err.message}. ${outcome} until it does: compute what it needs in an earlier guard (store it with ctx.set()) and read it synchronously here.`,
      'ratelimit.md#callbacks',
    )
    return err
  }
  const err = new TypeError(`${where} returned ${kindOf(answer)}; it must return ${expected}`)
  warnOnce(
    'APIWARD_CALLBACK_VALUE',
    `${err.message}. ${outcome} until it is fixed.`,
    'ratelimit.md#callbacks',
  )
  return err
}

/** Refuses a request whose callback answered a promise or a wrong value (see {@link callbackFailed}). */
export function wrongAnswer(
  ctx: SecurityContext,
  site: CallbackSite,
  answer: unknown,
  expected: string,
): ServiceUnavailable {
  return callbackFailed(
    ctx,
    site,
    misanswered(site, answer, expected, 'Requests it answers so are refused (503)'),
  )
}

/**
 * Reports a callback that answered a promise or a wrong value after the response, where no
 * request can be refused any more; `outcome` says what the guard does instead.
 */
export function reportWrongAnswer(
  ctx: SecurityContext,
  site: CallbackSite,
  answer: unknown,
  expected: string,
  outcome: string,
): void {
  reportCallback(ctx, site, misanswered(site, answer, expected, outcome))
}

import {
  booleanOption,
  checkOptions,
  defineGuard,
  type KnownOptions,
  type SecurityContext,
  type SecurityRequest,
} from '@apiward/core'
import { Unauthorized } from '@apiward/errors'
import { misread, reportCallbackError } from './callback.js'
import { type CredentialGuard, isCredentialGuard } from './credential.js'

/** Options of {@link anyOf}, given after the guards. */
export interface AnyOfOptions {
  /**
   * Whether a request that sends none of the credentials is refused (401
   * `auth.missing_credentials`). Default `true`. With `false` such a request goes on
   * anonymously (no principal); a credential that is sent must still be valid.
   */
  required?: boolean
}

const OPTIONS: KnownOptions<AnyOfOptions> = { required: true }
const MISTAKES: Readonly<Record<string, string>> = {
  optional: 'required: false',
  credentialsRequired: 'required',
}

function nameOf(guard: CredentialGuard): string {
  return guard.guardName ?? (guard.name || 'guard')
}

function brokenMember(guard: CredentialGuard) {
  return { code: 'auth.missing_credentials', callback: `${nameOf(guard)}.hasCredential` }
}

function isOptions(value: unknown): value is AnyOfOptions {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Accepts any one of several credentials, e.g. a bearer JWT for users or an API key for
 * machines. The guards are asked in order whether their credential was sent
 * (`hasCredential`); the first that says yes decides alone: its allow is the allow, its denial
 * is final. A present but invalid credential is therefore refused, never passed on to the next
 * guard or to anonymous access.
 *
 * When no credential is sent: 401 `auth.missing_credentials` with the `WWW-Authenticate`
 * challenges of every member that has one, unless the options that follow the guards say
 * `{ required: false }`: then the request goes on anonymously, without a principal. The result
 * is itself a credential guard, so it nests. Only credential guards are accepted (a `TypeError`
 * at startup otherwise): run other guards after it.
 *
 * @example
 * ```ts
 * app.get('/notes', guard(anyOf(jwt({ ... }), apiKey({ prefix: 'ak_live', lookup })), scopes('notes:read')), list)
 * // anonymous requests allowed, but a credential that is sent must be valid:
 * app.get('/feed', guard(anyOf(jwt({ ... }), apiKey({ prefix: 'ak_live', lookup }), { required: false })), feed)
 * ```
 */
export function anyOf(...guards: CredentialGuard[]): CredentialGuard
export function anyOf(...args: [...guards: CredentialGuard[], options: AnyOfOptions]): CredentialGuard
export function anyOf(...args: Array<CredentialGuard | AnyOfOptions>): CredentialGuard {
  const last = args.at(-1)
  const options = isOptions(last) ? last : undefined
  const guards: unknown[] = options === undefined ? args : args.slice(0, -1)
  if (options !== undefined) checkOptions<AnyOfOptions>(options, 'anyOf()', OPTIONS, MISTAKES)
  const required = booleanOption(options?.required, 'required', 'anyOf()', true)
  if (guards.length === 0) {
    throw new TypeError(
      'anyOf() needs at least one authentication guard, e.g. anyOf(jwt({ ... }), apiKey({ ... }))',
    )
  }
  guards.forEach((guard, i) => {
    if (isOptions(guard)) {
      throw new TypeError(
        `anyOf(): argument ${i + 1} is an object, not a guard. Options go last, e.g. anyOf(jwt(...), apiKey(...), { required: false })`,
      )
    }
    if (typeof guard !== 'function') {
      throw new TypeError(
        `anyOf(): argument ${i + 1} is ${guard === null ? 'null' : typeof guard}, not a guard. Did you forget to call the factory?`,
      )
    }
    if (!isCredentialGuard(guard as CredentialGuard)) {
      throw new TypeError(
        `anyOf(): argument ${i + 1} (${nameOf(guard as CredentialGuard)}) does not authenticate a credential; pass guards such as jwt() or apiKey() and run other guards after anyOf(), e.g. guard(anyOf(jwt(...), apiKey(...)), scopes('notes:read'))`,
      )
    }
  })
  const list = guards as CredentialGuard[]
  const challenges = [
    ...new Set(list.map((g) => g.challenge).filter((c): c is string => typeof c === 'string' && c !== '')),
  ]
  const challenge = challenges.length === 0 ? undefined : challenges.join(', ')
  const headers = challenge === undefined ? undefined : Object.freeze({ 'WWW-Authenticate': challenge })

  const missing = () =>
    new Unauthorized({ code: 'auth.missing_credentials', detail: 'Credentials are required.', headers })

  /**
   * Whether this member decides. Only `true` and `false` are answers: a `hasCredential` that
   * throws or answers anything else (a promise, say) refuses the request, since which guard
   * should decide is unknown, and is reported as `auth.error`.
   */
  const decides = (ctx: SecurityContext, guard: CredentialGuard): boolean => {
    let answer: unknown
    try {
      answer = guard.hasCredential(ctx.req)
    } catch (err) {
      reportCallbackError(ctx, brokenMember(guard), err)
      throw missing()
    }
    if (typeof answer === 'boolean') return answer
    reportCallbackError(
      ctx,
      brokenMember(guard),
      misread(`${nameOf(guard)}.hasCredential`, answer, 'true or false'),
    )
    throw missing()
  }

  const check = (ctx: SecurityContext): void | PromiseLike<void> => {
    for (const guard of list) if (decides(ctx, guard)) return guard(ctx)
    if (!required) return
    ctx.emit('auth.failure', { severity: 'info', code: 'auth.missing_credentials' })
    throw missing()
  }
  // Anything but `false` lets this anyOf() decide, so a member's odd answer is refused by it
  // instead of being skipped by an enclosing anyOf().
  const hasCredential = (req: SecurityRequest): boolean =>
    list.some((guard) => guard.hasCredential(req) !== false)

  return Object.assign(
    defineGuard(check, {
      guardName: `anyOf(${list.map(nameOf).join(', ')})`,
      needsBody: list.some((guard) => guard.needsBody === true),
      kind: 'authentication',
      settings: Object.freeze({ of: list.map(nameOf) }),
    }),
    { hasCredential, challenge },
  )
}

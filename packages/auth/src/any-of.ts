import { defineGuard, type SecurityContext, type SecurityRequest } from '@apiward/core'
import { Unauthorized } from '@apiward/errors'
import { type CredentialGuard, isCredentialGuard } from './credential.js'

function nameOf(guard: CredentialGuard): string {
  return guard.guardName ?? (guard.name || 'guard')
}

/**
 * Accepts any one of several credentials, e.g. a bearer JWT for users or an API key for
 * machines. The guards are asked in order whether their credential was sent
 * (`hasCredential`); the first that says yes decides alone: its allow is the allow, its denial
 * is final. A present but invalid credential is therefore refused, never passed on to the next
 * guard or to anonymous access.
 *
 * When no credential is sent: 401 `auth.missing_credentials` with the `WWW-Authenticate`
 * challenges of every member that has one. The result is itself a credential guard, so it
 * nests. Only credential guards are accepted (a `TypeError` at startup otherwise): run other
 * guards after it.
 *
 * @example
 * ```ts
 * app.get('/notes', guard(anyOf(jwt({ ... }), apiKey({ prefix: 'ak_live', lookup })), scopes('notes:read')), list)
 * ```
 */
export function anyOf(...guards: CredentialGuard[]): CredentialGuard {
  if (guards.length === 0) {
    throw new TypeError(
      'anyOf() needs at least one authentication guard, e.g. anyOf(jwt({ ... }), apiKey({ ... }))',
    )
  }
  guards.forEach((guard: unknown, i) => {
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
  const list = [...guards]
  const challenges = [
    ...new Set(list.map((g) => g.challenge).filter((c): c is string => typeof c === 'string' && c !== '')),
  ]
  const challenge = challenges.length === 0 ? undefined : challenges.join(', ')
  const headers = challenge === undefined ? undefined : Object.freeze({ 'WWW-Authenticate': challenge })

  const check = (ctx: SecurityContext): void | PromiseLike<void> => {
    for (const guard of list) if (guard.hasCredential(ctx.req)) return guard(ctx)
    ctx.emit('auth.failure', { severity: 'info', code: 'auth.missing_credentials' })
    throw new Unauthorized({ code: 'auth.missing_credentials', detail: 'Credentials are required.', headers })
  }
  const hasCredential = (req: SecurityRequest): boolean => list.some((guard) => guard.hasCredential(req))

  return Object.assign(
    defineGuard(check, {
      guardName: `anyOf(${list.map(nameOf).join(', ')})`,
      needsBody: list.some((guard) => guard.needsBody === true),
    }),
    { hasCredential, challenge },
  )
}

import type { Principal, SecurityContext } from '@apiward/core'
import { Forbidden, Unauthorized } from '@apiward/errors'

function quoted(value: string): string {
  return value.replace(/[\\"]/g, '\\$&')
}

/** The realm `jwt()` and `introspection()` use unless told otherwise. */
export const DEFAULT_REALM = 'api'

/** Reads and checks the `realm` option of a guard. */
export function realmOption(value: unknown, where: string): string {
  if (value === undefined) return DEFAULT_REALM
  if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) {
    throw new TypeError(
      `${where}: realm must be a string of printable ASCII characters, the realm of your jwt() (default 'api')`,
    )
  }
  return value
}

/**
 * The answers of an authorization guard that need the caller's challenge scheme: built once per
 * guard, so a denial costs one `ApiError`.
 */
export class Challenges {
  readonly #bearer: string
  readonly #dpop: string

  constructor(realm: string) {
    this.#bearer = `Bearer realm="${quoted(realm)}"`
    this.#dpop = `DPoP realm="${quoted(realm)}"`
  }

  /**
   * The challenge in the scheme of the credential the request carried: `DPoP` for a DPoP-bound
   * token (RFC 9449 §7.1), `Bearer` otherwise.
   */
  #scheme(ctx: SecurityContext): string {
    const authorization = ctx.req.header('authorization')
    return authorization !== undefined && /^dpop /i.test(authorization) ? this.#dpop : this.#bearer
  }

  /**
   * 401 `auth.unauthorized`: no principal, because no authentication guard ran before this one
   * (a misordered stack) or it let an anonymous request through. Never an allow.
   */
  unauthenticated(ctx: SecurityContext): Unauthorized {
    return new Unauthorized({
      detail: 'Valid credentials are required to access this resource.',
      headers: { 'WWW-Authenticate': this.#scheme(ctx) },
    })
  }

  /**
   * 403 `authz.insufficient_scope` with the RFC 6750 §3.1 challenge naming the scope needed, for
   * token credentials; an API key or a certificate has no scopes to ask for, so its 403 carries
   * no challenge.
   */
  insufficientScope(ctx: SecurityContext, principal: Principal, scope: string): Forbidden {
    const tokenLike = principal.credential === 'jwt' || principal.credential === 'introspection'
    return new Forbidden({
      code: 'authz.insufficient_scope',
      detail: 'The access token does not grant the scope this request needs.',
      headers: tokenLike
        ? {
            'WWW-Authenticate': `${this.#scheme(ctx)}, error="insufficient_scope", scope="${quoted(scope)}"`,
          }
        : undefined,
    })
  }
}

/** 403 `authz.forbidden`, the same for every reason: the client learns nothing of the rule. */
export function forbidden(): Forbidden {
  return new Forbidden({ detail: 'The credentials do not grant access to this resource.' })
}

/**
 * The required names of `scopes()` / `roles()`: non-empty strings, none with whitespace (a scope
 * token has none, RFC 6749 §3.3), duplicates dropped; an options object may come last.
 */
export function namesAndOptions<O extends object>(
  args: readonly unknown[],
  where: string,
  what: string,
  pattern: RegExp,
): { names: string[]; options: O | undefined } {
  let options: O | undefined
  let list = args
  const last = args.at(-1)
  if (typeof last === 'object' && last !== null && !Array.isArray(last)) {
    options = last as O
    list = args.slice(0, -1)
  }
  const names = list.flat() as unknown[]
  if (names.length === 0) {
    throw new TypeError(`${where}: name at least one ${what}, e.g. ${where.replace('()', `('notes:read')`)}`)
  }
  for (const name of names) {
    if (typeof name !== 'string' || !pattern.test(name)) {
      throw new TypeError(
        `${where}: every ${what} must be a non-empty string without spaces, got ${JSON.stringify(name) ?? String(name)}; pass several as separate arguments`,
      )
    }
  }
  return { names: [...new Set(names as string[])], options }
}

/** Reads the `mode` option of `scopes()` / `roles()`. */
export function modeOption(value: unknown, where: string): 'all' | 'any' {
  if (value === undefined) return 'all'
  if (value !== 'all' && value !== 'any') throw new TypeError(`${where}: mode must be 'all' or 'any'`)
  return value
}

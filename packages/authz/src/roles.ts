import { checkOptions, defineGuard, type Guard, type KnownOptions, type SecurityContext } from '@apiward/core'
import { Challenges, forbidden, modeOption, namesAndOptions, realmOption } from './challenge.js'

/** Options of {@link roles}. */
export interface RolesOptions {
  /**
   * `'all'`: every listed role is required; `'any'`: one of them is enough. Default `'all'`, the
   * stricter reading of a list.
   */
  mode?: 'all' | 'any'
  /** The `realm` of the 401 challenge when no principal is set. Default `'api'` (`jwt()`'s default). */
  realm?: string
}

const OPTIONS: KnownOptions<RolesOptions> = { mode: true, realm: true }
const ROLE_NAME = /^\S+$/

/**
 * Requires roles of the principal (`jwt()`'s `rolesClaim`, an API key record's roles): OWASP
 * API5, function-level authorization. Roles match exactly: `admin` never matches
 * `administrator` or `Admin`.
 *
 * A missing role answers 403 `authz.forbidden`; no principal answers 401 `auth.unauthorized`
 * with the usual challenge. An empty list, a non-string or a role with spaces is a `TypeError`
 * at startup.
 *
 * @example
 * ```ts
 * app.get('/admin/users', guard(jwt(opts), roles('admin')), listUsers)
 * app.get('/reports', guard(jwt(opts), roles('auditor', 'admin', { mode: 'any' })), reports)
 * ```
 */
export function roles(...required: [string, ...(string | RolesOptions)[]]): Guard {
  const where = 'roles()'
  const { names, options = {} } = namesAndOptions<RolesOptions>(required, where, 'role', ROLE_NAME)
  checkOptions<RolesOptions>(options, where, OPTIONS, { any: "mode: 'any'" })
  const mode = modeOption(options.mode, where)
  const challenges = new Challenges(realmOption(options.realm, where))
  const all = mode === 'all'
  const check = (ctx: SecurityContext): void => {
    const principal = ctx.principal
    if (principal === undefined) {
      ctx.emit('authz.denied', { severity: 'warn', guard: 'roles', reason: 'unauthenticated' })
      throw challenges.unauthenticated(ctx)
    }
    const granted = principal.roles
    const missing = names.filter((name) => !granted.includes(name))
    if (all ? missing.length === 0 : missing.length < names.length) return
    ctx.emit('authz.denied', {
      severity: 'warn',
      code: 'authz.forbidden',
      guard: 'roles',
      reason: 'missing_role',
      missing,
    })
    throw forbidden()
  }
  return defineGuard(check, { guardName: 'roles', kind: 'authorization', settings: { roles: names, mode } })
}

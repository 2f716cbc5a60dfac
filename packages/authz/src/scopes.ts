import { checkOptions, defineGuard, type Guard, type KnownOptions, type SecurityContext } from '@apiward/core'
import { Challenges, modeOption, namesAndOptions, realmOption } from './challenge.js'

/** Options of {@link scopes}. */
export interface ScopesOptions {
  /**
   * `'all'`: every listed scope is required; `'any'`: one of them is enough. Default `'all'`,
   * the stricter reading of a list.
   */
  mode?: 'all' | 'any'
  /**
   * The `realm` of the `WWW-Authenticate` challenges, the same as your `jwt()`'s. Default `'api'`
   * (`jwt()`'s default).
   */
  realm?: string
}

const OPTIONS: KnownOptions<ScopesOptions> = { mode: true, realm: true }

/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

function holds(granted: readonly string[], name: string): boolean {
  for (let i = 0; i < granted.length; i++) if (granted[i] === name) return true
  return false
}

/**
 * Requires OAuth scopes of the principal an authentication guard established (`jwt()`,
 * `introspection()`, `apiKey()` with scopes): OWASP API5, function-level authorization.
 *
 * - Scopes match exactly: `notes:readwrite` never satisfies `notes:read`.
 * - A missing scope answers 403 `authz.insufficient_scope` with
 *   `WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="notes:read"`
 *   (RFC 6750 §3.1; `DPoP` for a DPoP-bound token).
 * - No principal (no authentication guard ran first) answers 401 `auth.unauthorized` with the
 *   usual challenge: a misordered stack never allows.
 *
 * An empty list, a non-string or a scope with spaces is a `TypeError` at startup.
 *
 * @example
 * ```ts
 * app.get('/notes', guard(jwt({ issuer, audience, jwksUri }), scopes('notes:read')), listNotes)
 * app.delete('/notes/:id', guard(jwt(opts), scopes('notes:write', 'notes:admin', { mode: 'any' })), del)
 * ```
 */
export function scopes(...required: [string, ...(string | ScopesOptions)[]]): Guard {
  const where = 'scopes()'
  const { names, options = {} } = namesAndOptions<ScopesOptions>(required, where, 'scope', SCOPE_TOKEN)
  checkOptions<ScopesOptions>(options, where, OPTIONS, { any: "mode: 'any'", scope: 'the arguments' })
  const mode = modeOption(options.mode, where)
  const challenges = new Challenges(realmOption(options.realm, where))
  const needed = names.join(' ')
  const all = mode === 'all'
  const check = (ctx: SecurityContext): void => {
    const principal = ctx.principal
    if (principal === undefined) {
      ctx.emit('authz.denied', { severity: 'warn', guard: 'scopes', reason: 'unauthenticated' })
      throw challenges.unauthenticated(ctx)
    }
    const granted = principal.scopes
    if (all) {
      let held = 0
      for (const name of names) if (holds(granted, name)) held++
      if (held === names.length) return
      const missing = names.filter((name) => !holds(granted, name))
      ctx.emit('authz.denied', {
        severity: 'warn',
        code: 'authz.insufficient_scope',
        guard: 'scopes',
        reason: 'insufficient_scope',
        missing,
      })
    } else {
      for (const name of names) if (holds(granted, name)) return
      ctx.emit('authz.denied', {
        severity: 'warn',
        code: 'authz.insufficient_scope',
        guard: 'scopes',
        reason: 'insufficient_scope',
        missing: names,
      })
    }
    throw challenges.insufficientScope(ctx, principal, needed)
  }
  return defineGuard(check, {
    guardName: 'scopes',
    kind: 'authorization',
    settings: { scopes: names, mode },
  })
}

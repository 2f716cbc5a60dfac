import {
  checkOptions,
  defineGuard,
  type Guard,
  type KnownOptions,
  type Principal,
  type PrincipalClaims,
  type SecurityContext,
} from '@apiward/core'
import { Challenges, forbidden, realmOption } from './challenge.js'

/** A claim's value as a predicate sees it, with the principal and the request. */
export type ClaimPredicate = (
  value: unknown,
  claims: Readonly<PrincipalClaims>,
  ctx: SecurityContext,
) => boolean | PromiseLike<boolean>

/**
 * What one claim must satisfy:
 * - a string, number, boolean or `null`: the claim equals it (`===`), auth0's `claimEquals`;
 * - `{ equals: value }`: the same, spelled out;
 * - `{ includes: [...] }`: the claim, an array or a space-separated string, holds every listed
 *   value (auth0's `claimIncludes`); `{ includesAny: [...] }`: at least one;
 * - a function: a predicate (auth0's `claimCheck`), sync or async; only `true` allows, and a
 *   throw or rejection refuses (with an `authz.error` event).
 */
export type ClaimCheck =
  | string
  | number
  | boolean
  | null
  | { readonly equals: string | number | boolean | null }
  | { readonly includes: readonly string[] }
  | { readonly includesAny: readonly string[] }
  | ClaimPredicate

/** The checks of {@link claims}: claim path to check. A dot descends into objects (`org.id`). */
export type ClaimChecks = Readonly<Record<string, ClaimCheck>>

/** Options of {@link claims}. */
export interface ClaimsOptions {
  /** The `realm` of the 401 challenge when no principal is set. Default `'api'` (`jwt()`'s default). */
  realm?: string
}

const OPTIONS: KnownOptions<ClaimsOptions> = { realm: true }

type Compiled =
  | { path: string; kind: 'equals'; expected: string | number | boolean | null }
  | { path: string; kind: 'includes'; expected: readonly string[]; any: boolean }
  | { path: string; kind: 'predicate'; check: ClaimPredicate }

/** The value at a claim path: the claim named `path` itself, else dots descend into objects. */
function claimAt(claims: Readonly<PrincipalClaims>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path]
  let value: unknown = claims
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

function members(value: unknown): readonly unknown[] {
  if (typeof value === 'string') return value.split(' ')
  return Array.isArray(value) ? value : []
}

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value)
}

function compile(path: string, check: unknown, where: string): Compiled {
  if (typeof check === 'function') return { path, kind: 'predicate', check: check as ClaimPredicate }
  if (isPrimitive(check)) return { path, kind: 'equals', expected: check }
  if (typeof check === 'object' && check !== null && !Array.isArray(check)) {
    const keys = Object.keys(check)
    const spec = check as Record<string, unknown>
    if (keys.length === 1 && keys[0] === 'equals' && isPrimitive(spec.equals)) {
      return { path, kind: 'equals', expected: spec.equals }
    }
    if (keys.length === 1 && (keys[0] === 'includes' || keys[0] === 'includesAny')) {
      const list = spec[keys[0]]
      if (
        Array.isArray(list) &&
        list.length > 0 &&
        list.every((v) => typeof v === 'string' && v !== '' && !/\s/.test(v))
      ) {
        return { path, kind: 'includes', expected: [...list], any: keys[0] === 'includesAny' }
      }
      throw new TypeError(
        `${where}: '${path}': ${keys[0]} must be a non-empty array of strings without spaces, e.g. { includes: ['read:notes'] }`,
      )
    }
  }
  throw new TypeError(
    `${where}: '${path}' must be a value to equal, { includes: [...] }, { includesAny: [...] } or a predicate (value, claims, ctx) => boolean`,
  )
}

function matches(c: Compiled & { kind: 'equals' | 'includes' }, value: unknown): boolean {
  if (c.kind === 'equals') return value === c.expected
  const held = members(value)
  return c.any ? c.expected.some((v) => held.includes(v)) : c.expected.every((v) => held.includes(v))
}

/**
 * Allows when the principal's claims match every check: equality, inclusion (arrays and
 * space-separated strings) or a predicate, sync or async: auth0's `claimEquals`, `claimIncludes`
 * and `claimCheck` as one guard. Anything else answers 403 `authz.forbidden`; no principal answers
 * 401. Only a predicate's `true` allows: a truthy string, a throw or a rejection refuses, so a
 * callback never turns a denial into an allow.
 *
 * @example
 * ```ts
 * claims({ tenant: 'acme', permissions: { includes: ['read:notes'] }, org: (org) => org === 'eu' })
 * ```
 */
export function claims(checks: ClaimChecks, options: ClaimsOptions = {}): Guard {
  const where = 'claims()'
  if (
    typeof checks !== 'object' ||
    checks === null ||
    Array.isArray(checks) ||
    Object.keys(checks).length === 0
  ) {
    throw new TypeError(`${where}: checks must be an object of claim paths, e.g. claims({ tenant: 'acme' })`)
  }
  checkOptions<ClaimsOptions>(options, where, OPTIONS)
  const challenges = new Challenges(realmOption(options.realm, where))
  const compiled = Object.entries(checks).map(([path, check]) => compile(path, check, where))
  const refuse = (ctx: SecurityContext, path: string): never => {
    ctx.emit('authz.denied', {
      severity: 'warn',
      code: 'authz.forbidden',
      guard: 'claims',
      reason: 'claim_mismatch',
      missing: [path],
    })
    throw forbidden()
  }
  const failed = (ctx: SecurityContext, path: string, err: unknown): never => {
    ctx.emit('authz.error', {
      severity: 'error',
      guard: 'claims',
      callback: `claims.${path}`,
      detail: err instanceof Error ? err.message : String(err),
      error: err,
    })
    return refuse(ctx, path)
  }
  const run = (ctx: SecurityContext, principal: Principal, from: number): void | Promise<void> => {
    for (let i = from; i < compiled.length; i++) {
      const c = compiled[i]!
      const value = claimAt(principal.claims, c.path)
      if (c.kind !== 'predicate') {
        if (!matches(c, value)) refuse(ctx, c.path)
        continue
      }
      let result: boolean | PromiseLike<boolean>
      try {
        result = c.check(value, principal.claims, ctx)
      } catch (err) {
        return failed(ctx, c.path, err)
      }
      if (result === true) continue
      if (typeof result === 'object' && result !== null && typeof result.then === 'function') {
        return Promise.resolve(result).then(
          (answer) => (answer === true ? run(ctx, principal, i + 1) : refuse(ctx, c.path)),
          (err: unknown) => failed(ctx, c.path, err),
        )
      }
      refuse(ctx, c.path)
    }
  }
  const check = (ctx: SecurityContext): void | Promise<void> => {
    const principal = ctx.principal
    if (principal === undefined) {
      ctx.emit('authz.denied', { severity: 'warn', guard: 'claims', reason: 'unauthenticated' })
      throw challenges.unauthenticated(ctx)
    }
    return run(ctx, principal, 0)
  }
  return defineGuard(check, {
    guardName: 'claims',
    kind: 'authorization',
    settings: { claims: compiled.map((c) => `${c.path}: ${c.kind}`) },
  })
}

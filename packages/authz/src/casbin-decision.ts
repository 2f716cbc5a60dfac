import type { Principal, SecurityContext } from '@apiward/core'
import { ApiError, InternalServerError } from '@apiward/errors'
import type { Enforcer } from 'casbin'
import type { Config, Plan } from './casbin-options.js'
import { forbidden } from './challenge.js'
import type { DecisionMemo } from './decision-memo.js'
import { routedPath } from './routed-path.js'

/** A loaded policy: its enforcer, version, memo and how its requests are built. */
export interface Loaded {
  readonly enforcer: Enforcer
  readonly version: number
  readonly memo: DecisionMemo | undefined
  /** Whether `enforceExSync` works with this enforcer (an async role manager or function needs `enforceEx`). */
  sync: boolean
  /** How this model's requests are built. */
  readonly plan: Plan
}

/** The message of a thrown value, for events (never for the client). */
export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The action of a request: its method, `HEAD` as `GET`; override headers never change it. */
function actionOf(method: string): string {
  return method === 'HEAD' ? 'GET' : method
}

const NO_ROLES = { list: [] as string[], key: '' }

/** The principal's roles as casbin sees them: prefixed, deduplicated, sorted; once per roles array. */
function rolesOf(config: Config, principal: Principal): { list: string[]; key: string } {
  const roles = principal.roles
  if (roles.length === 0) return NO_ROLES
  let sorted = config.roleLists.get(roles)
  if (sorted === undefined) {
    const prefix = config.rolePrefix
    const list = [...new Set(roles)].map((role) => prefix + role).sort()
    sorted = { list, key: JSON.stringify(list) }
    config.roleLists.set(roles, sorted)
  }
  return sorted
}

/** What was decided when a request was refused, for its `authz.denied` event. */
class Denied {
  constructor(
    readonly subject: string,
    readonly object: string,
    readonly action: string,
    readonly domain: string | undefined,
    readonly version: number,
  ) {}
}

/**
 * Whether an enforcer can decide synchronously: not when a matching function it was given is
 * async, whose promise a synchronous matcher would read as a value (`!isBlocked(r.sub)` false).
 */
export function decidesSync(enforcer: Enforcer): boolean {
  const functions = (
    enforcer as unknown as { fm?: { getFunctions?: () => Map<string, unknown> } }
  ).fm?.getFunctions?.()
  if (!(functions instanceof Map)) return true
  for (const fn of functions.values()) {
    if (typeof fn === 'function' && fn.constructor.name === 'AsyncFunction') return false
  }
  return true
}

/** Decides one request tuple on an enforcer: `[allowed, explicitlyDenied]`, or their promise. */
function enforceOne(state: Loaded, rvals: unknown[]): [boolean, boolean] | Promise<[boolean, boolean]> {
  if (state.sync) {
    try {
      const [allowed, rule] = state.enforcer.enforceExSync(...rvals)
      return [allowed, !allowed && rule.length > 0]
    } catch (err) {
      // A model with an async role manager or matching function cannot be decided synchronously:
      // when the async path decides where the sync one failed, this enforcer decides that way
      // from now on. When both fail, the error stands (a 500, never an allow).
      return state.enforcer.enforceEx(...rvals).then(
        ([allowed, rule]) => {
          state.sync = false
          return [allowed, !allowed && rule.length > 0]
        },
        () => Promise.reject(err),
      )
    }
  }
  return state.enforcer.enforceEx(...rvals).then(([allowed, rule]) => [allowed, !allowed && rule.length > 0])
}

/** Decides every subject's tuple: allowed when one is allowed and none met a deny rule. */
function enforceAll(state: Loaded, tuples: unknown[][]): boolean | Promise<boolean> {
  let allowed = false
  for (let i = 0; i < tuples.length; i++) {
    const result = enforceOne(state, tuples[i]!)
    if (result instanceof Promise) {
      return result.then(async ([ok, denied]) => {
        if (denied) return false
        let any = allowed || ok
        for (let j = i + 1; j < tuples.length; j++) {
          const [more, deniedMore] = await enforceOne(state, tuples[j]!)
          if (deniedMore) return false
          any ||= more
        }
        return any
      })
    }
    if (result[1]) return false
    allowed ||= result[0]
  }
  return allowed
}

/** The values of one request, beside its subject. */
interface RequestValues {
  readonly object: string
  readonly action: string
  readonly domain: string | undefined
  readonly roles: readonly string[] | undefined
  readonly attributes: Readonly<Record<string, unknown>> | undefined
}

/** The request tuple of a subject, in the order of the model's request definition. */
function tupleOf(plan: Plan, subject: string, values: RequestValues): unknown[] {
  return plan.fill.map((token) => {
    if (token === 'sub') return subject
    if (token === 'obj') return values.object
    if (token === 'act') return values.action
    if (token === 'dom') return values.domain
    if (token === 'roles') return values.roles
    return values.attributes?.[token]
  })
}

/** A refusal: 403 `authz.forbidden`, with the decided tuple in the event. */
function denied(ctx: SecurityContext, d: Denied): never {
  ctx.emit('authz.denied', {
    severity: 'warn',
    code: 'authz.forbidden',
    guard: 'casbin',
    reason: 'policy',
    subject: d.subject,
    object: d.object,
    action: d.action,
    domain: d.domain,
    policyVersion: d.version,
  })
  throw forbidden()
}

/** A callback or the engine failed: a 500 that says nothing of it, never an allow. */
function failed(ctx: SecurityContext, callback: string, err: unknown, policyVersion: number): never {
  ctx.emit('authz.error', {
    severity: 'error',
    guard: 'casbin',
    callback,
    detail: message(err),
    error: err,
    policyVersion,
  })
  throw new InternalServerError({ cause: err })
}

/**
 * Decides one request on a loaded policy: from the memo when it can (synchronously), else with
 * the enforcer. Allows by returning; denies with 403, fails with 500, never allows on an error.
 */
export function decide(
  config: Config,
  ctx: SecurityContext,
  principal: Principal,
  state: Loaded,
): void | Promise<void> {
  const p = state.plan
  let subject: string
  let object: string
  let domain: string | undefined
  let attributes: Readonly<Record<string, unknown>> | undefined
  let callback = 'subject'
  try {
    subject = config.subject === undefined ? principal.id : config.subject(principal, ctx)
    if (typeof subject !== 'string' || subject === '')
      throw new TypeError('subject() must return a non-empty string')
    callback = 'object'
    const o = config.object
    object =
      o === 'route' ? (ctx.req.route ?? routedPath(ctx.req)) : o === 'path' ? routedPath(ctx.req) : o(ctx)
    if (typeof object !== 'string') throw new TypeError('object() must return a string')
    if (config.domain !== undefined) {
      callback = 'domain'
      domain = config.domain(ctx)
      if (domain !== undefined && typeof domain !== 'string')
        throw new TypeError('domain() must return a string')
    }
    if (config.attributes !== undefined) {
      callback = 'attributes'
      attributes = config.attributes(ctx, principal)
      if (typeof attributes !== 'object' || attributes === null)
        throw new TypeError('attributes() must return an object')
    }
  } catch (err) {
    // A malformed path is the client's 400, not an engine failure.
    if (ApiError.is(err)) throw err
    return failed(ctx, callback, err, state.version)
  }
  const action = actionOf(ctx.req.method)
  if (config.domain !== undefined && (domain === undefined || domain === '')) {
    return denied(ctx, new Denied(subject, object, action, undefined, state.version))
  }
  const roles = p.roles === 'none' ? undefined : rolesOf(config, principal)
  const memo = state.memo
  let first: unknown[] | undefined
  let key: string | undefined
  if (memo !== undefined) {
    if (config.cacheKey !== undefined) {
      first = tupleOf(p, subject, { object, action, domain, roles: roles?.list, attributes })
      try {
        key = config.cacheKey(ctx, first)
      } catch (err) {
        return failed(ctx, 'cacheKey', err, state.version)
      }
      if (typeof key !== 'string') key = undefined
    }
    // A memoised decision is synchronous and builds nothing more.
    const known =
      config.cacheKey === undefined
        ? memo.getRequest(subject, domain ?? '', object, action, roles?.key ?? '')
        : key === undefined
          ? undefined
          : memo.get(key)
    if (known === true) return
    if (known === false) return denied(ctx, new Denied(subject, object, action, domain, state.version))
  }
  const request: RequestValues = { object, action, domain, roles: roles?.list, attributes }
  const tuples = [first ?? tupleOf(p, subject, request)]
  if (p.roles === 'subjects') {
    for (const role of roles!.list) if (role !== subject) tuples.push(tupleOf(p, role, request))
  }
  const settle = (allowed: boolean): void => {
    if (memo !== undefined) {
      if (config.cacheKey === undefined)
        memo.setRequest(subject, domain ?? '', object, action, roles?.key ?? '', allowed)
      else if (key !== undefined) memo.set(key, allowed)
    }
    if (!allowed) denied(ctx, new Denied(subject, object, action, domain, state.version))
  }
  let result: boolean | Promise<boolean>
  try {
    result = enforceAll(state, tuples)
  } catch (err) {
    return failed(ctx, 'enforce', err, state.version)
  }
  if (typeof result === 'boolean') return settle(result)
  return result.then(settle, (err: unknown) => failed(ctx, 'enforce', err, state.version))
}

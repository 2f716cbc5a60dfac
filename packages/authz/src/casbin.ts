import {
  booleanOption,
  checkOptions,
  defineGuard,
  functionOption,
  type Guard,
  type KnownOptions,
  type Principal,
  type SecurityContext,
  type SecurityEventBus,
  securityEvents,
} from '@apiward/core'
import { ApiError, InternalServerError, ServiceUnavailable } from '@apiward/errors'
import type { Adapter, Enforcer, Watcher } from 'casbin'
import { type ModelShape, ruleCount, shapeOfEnforcer } from './casbin-model.js'
import { type EnforcerSource, enforcerSource } from './casbin-source.js'
import { Challenges, forbidden, realmOption } from './challenge.js'
import { DecisionMemo } from './decision-memo.js'
import type { PolicyLoadTrigger } from './events.js'
import { routedPath } from './routed-path.js'

/** How the principal's roles reach the policy. */
export type CasbinRoles = 'subjects' | 'attribute' | 'none'

/** Options of {@link casbin}. */
export interface CasbinOptions {
  /** The model: a `.conf` file path or the model text. With `policy` or `adapter`. */
  model?: string
  /**
   * The policy: a `.csv` file path (read again on every `reload()`) or the CSV text. A line of a
   * type the model lacks or with the wrong number of fields fails the load, where casbin would
   * skip it (a skipped deny rule is an allow).
   */
  policy?: string
  /** Any casbin adapter (a database): the policy is loaded from it, on every `reload()` again. */
  adapter?: Adapter
  /**
   * A ready enforcer, or a function that builds one (called for every load, so `reload()` and
   * `watcher` work). An instance is used as it is and cannot be reloaded.
   */
  enforcer?: Enforcer | (() => Enforcer | Promise<Enforcer>)
  /**
   * The object decided on: `'route'` (default) the route pattern where the router knows it
   * (`/notes/:id`, the same for every spelling of the path), else the path as the router
   * compares it (`req.matchPath`: decoded, dot segments resolved, folded as the router folds, an encoded `/` kept in its segment);
   * `'path'` always that path; or a function of the request.
   */
  object?: 'route' | 'path' | ((ctx: SecurityContext) => string)
  /**
   * The domain (tenant) of RBAC with domains, for a model whose request has `dom`. Required
   * exactly when the model has it. A request without a domain (`undefined`) is refused.
   */
  domain?: (ctx: SecurityContext) => string | undefined
  /**
   * How the principal's roles take part. `'subjects'` (default unless the request has `roles`):
   * the principal's id and each of its roles are decided on as subjects (the policy's groupings,
   * `g, editor, viewer`, apply to each); allowed when one is allowed and none meets a deny rule.
   * `'attribute'` (default when the model's request has `roles`): the sorted roles are that
   * request value (`p.sub in r.roles`). `'none'`: only the id. Roles are never added to the
   * shared enforcer per request.
   */
  roles?: CasbinRoles
  /** The subject. Default: `principal.id`. It must return a string. */
  subject?: (principal: Principal, ctx: SecurityContext) => string
  /**
   * Values of the request's further tokens (ABAC: `r = sub, obj, act, env`), by token name.
   * A model with such tokens, or whose matcher reads attributes (`r.sub.Owner`), decides on more
   * than subject, object and action: its decisions are memoised only with `cacheKey`.
   */
  attributes?: (ctx: SecurityContext, principal: Principal) => Readonly<Record<string, unknown>>
  /**
   * The memo key of a decision, for models whose decisions depend on more than subject, object,
   * action, domain and roles: it must hold everything the decision reads. `undefined`: not
   * memoised. Default: those five, which is why ABAC models are not memoised without it.
   */
  cacheKey?: (ctx: SecurityContext, request: readonly unknown[]) => string | undefined
  /**
   * Memoise decisions: `true` (default) keeps up to 10,000, `{ max }` sets the bound, `false`
   * decides every request. The memo belongs to one loaded policy: a reload starts an empty one.
   */
  cache?: boolean | { max?: number }
  /**
   * A casbin watcher (`@casbin/redis-watcher`, or any with `setUpdateCallback`): when any
   * instance announces a change (`watcher.update()`), every instance reloads. Default: none.
   */
  watcher?: Watcher
  /** Where policy load events go. Default: the process-wide `securityEvents`. */
  events?: SecurityEventBus
  /** The `realm` of the 401 challenge when no principal is set. Default `'api'` (`jwt()`'s default). */
  realm?: string
}

const OPTIONS: KnownOptions<CasbinOptions> = {
  model: true,
  policy: true,
  adapter: true,
  enforcer: true,
  object: true,
  domain: true,
  roles: true,
  subject: true,
  attributes: true,
  cacheKey: true,
  cache: true,
  watcher: true,
  events: true,
  realm: true,
}

const MISTAKES = {
  modelPath: 'model',
  policyPath: 'policy',
  policyFile: 'policy',
  modelFile: 'model',
  newEnforcer: 'enforcer',
  getSubject: 'subject',
  tenant: 'domain',
}

/** A casbin guard: the guard, its policy's state and an atomic reload. */
export interface CasbinGuard extends Guard {
  /**
   * Settles when the first policy is loaded; rejects when it could not be (then every request is
   * refused with 503 `authz.unavailable` until a `reload()` succeeds). Await it at startup.
   */
  readonly ready: Promise<void>
  /**
   * Builds and loads a fresh enforcer, and swaps it in only when it loaded completely: every
   * decision sees the old policy or the new one, never a part. Resolves to the new
   * `policyVersion`; rejects when the load failed, and the old policy stays
   * (`authz.reload_failed`). Loads run one after another.
   */
  reload(): Promise<number>
  /** The version of the policy in use: 1 after the first load, one more at each reload; 0 before. */
  readonly policyVersion: number
  /** Whether decisions are memoised (see `cache` and `cacheKey`). */
  readonly memoised: boolean
}

interface Loaded {
  readonly enforcer: Enforcer
  readonly version: number
  readonly memo: DecisionMemo | undefined
  /** Whether `enforceExSync` works with this enforcer (an async role manager or function needs `enforceEx`). */
  sync: boolean
}

const SEP = '\u0000'

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The action of a request: its method, `HEAD` as `GET`; override headers never change it. */
function actionOf(method: string): string {
  return method === 'HEAD' ? 'GET' : method
}

const sortedRoles = new WeakMap<readonly string[], { list: string[]; key: string }>()

const NO_ROLES = { list: [] as string[], key: '' }

function rolesOf(principal: Principal): { list: string[]; key: string } {
  const roles = principal.roles
  if (roles.length === 0) return NO_ROLES
  let sorted = sortedRoles.get(roles)
  if (sorted === undefined) {
    const list = [...new Set(roles)].sort()
    sorted = { list, key: JSON.stringify(list) }
    sortedRoles.set(roles, sorted)
  }
  return sorted
}

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
function decidesSync(enforcer: Enforcer): boolean {
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

/** The parsed options of `casbin()`. */
interface Config {
  source: EnforcerSource
  object: 'route' | 'path' | ((ctx: SecurityContext) => string)
  domain: ((ctx: SecurityContext) => string | undefined) | undefined
  roles: CasbinRoles | undefined
  subject: ((principal: Principal, ctx: SecurityContext) => string) | undefined
  attributes: ((ctx: SecurityContext, principal: Principal) => Readonly<Record<string, unknown>>) | undefined
  cacheKey: ((ctx: SecurityContext, request: readonly unknown[]) => string | undefined) | undefined
  cacheMax: number
  watcher: Watcher | undefined
  events: SecurityEventBus
  challenges: Challenges
}

function parseOptions(options: CasbinOptions, where: string): Config {
  checkOptions<CasbinOptions>(
    options,
    where,
    OPTIONS,
    MISTAKES,
    "{ model: 'rbac_model.conf', policy: 'rbac_policy.csv' }",
  )
  const source = enforcerSource(options, where)
  const object = options.object ?? 'route'
  if (object !== 'route' && object !== 'path' && typeof object !== 'function') {
    throw new TypeError(`${where}: object must be 'route', 'path' or a function (ctx) => string`)
  }
  const roles = options.roles
  if (roles !== undefined && roles !== 'subjects' && roles !== 'attribute' && roles !== 'none') {
    throw new TypeError(`${where}: roles must be 'subjects', 'attribute' or 'none'`)
  }
  let cacheMax = 10_000
  const cache = options.cache
  if (cache === false) cacheMax = 0
  else if (typeof cache === 'object' && cache !== null) {
    checkOptions<{ max?: number }>(cache, `${where}: cache`, { max: true })
    if (cache.max !== undefined && (!Number.isInteger(cache.max) || cache.max < 1)) {
      throw new TypeError(`${where}: cache.max must be a positive integer (decisions kept), e.g. 10000`)
    }
    cacheMax = cache.max ?? cacheMax
  } else booleanOption(cache, 'cache', where, true)
  const watcher = options.watcher
  if (watcher !== undefined) {
    if (typeof watcher?.setUpdateCallback !== 'function') {
      throw new TypeError(`${where}: watcher must be a casbin watcher (with setUpdateCallback)`)
    }
    if (!source.reloadable) {
      throw new TypeError(
        `${where}: a watcher reloads the policy, which a ready enforcer instance cannot do: pass enforcer as a function that builds one, or model with policy or adapter`,
      )
    }
  }
  return {
    source,
    object,
    domain: functionOption(options.domain, 'domain', where, '(ctx) => string'),
    roles,
    subject: functionOption(options.subject, 'subject', where, '(principal, ctx) => string'),
    attributes: functionOption(options.attributes, 'attributes', where, '(ctx, principal) => object'),
    cacheKey: functionOption(options.cacheKey, 'cacheKey', where, '(ctx, request) => string | undefined'),
    cacheMax,
    watcher,
    events: options.events ?? securityEvents,
    challenges: new Challenges(realmOption(options.realm, where)),
  }
}

/** How one model's requests are built, checked against the options. */
interface Plan {
  /** For each request token, what fills it. */
  fill: readonly string[]
  roles: CasbinRoles
  /** Whether decisions may be memoised under the default key. */
  plainKey: boolean
}

function planFor(shape: ModelShape, config: Config, where: string): Plan {
  const hasDomain = shape.tokens.includes('dom')
  if (hasDomain && config.domain === undefined) {
    throw new TypeError(`${where}: the model's request has dom: give domain: (ctx) => the tenant`)
  }
  if (!hasDomain && config.domain !== undefined) {
    throw new TypeError(`${where}: domain is given but the model's request has no dom token`)
  }
  const hasRoles = shape.tokens.includes('roles')
  const roles = config.roles ?? (hasRoles ? 'attribute' : 'subjects')
  if (roles === 'attribute' && !hasRoles) {
    throw new TypeError(
      `${where}: roles: 'attribute' needs a roles token in the request (r = sub, roles, obj, act)`,
    )
  }
  if (roles !== 'attribute' && hasRoles) {
    throw new TypeError(`${where}: the model's request has roles, which only roles: 'attribute' fills`)
  }
  if (shape.extra.length > 0 && config.attributes === undefined) {
    throw new TypeError(
      `${where}: the model's request has ${shape.extra.join(', ')}: give attributes: (ctx, principal) => ({ ${shape.extra.map((t) => `${t}: ...`).join(', ')} })`,
    )
  }
  const plainKey = shape.extra.length === 0 && !shape.readsAttributes && config.attributes === undefined
  return { fill: shape.tokens, roles, plainKey }
}

/**
 * Decides every request with a casbin policy (node-casbin 5): RBAC, RBAC with domains, ABAC,
 * `keyMatch2` / `regexMatch` routes, deny rules that win over allows. OWASP API5, function-level
 * authorization, and API1 where the policy names objects.
 *
 * - Subject: the principal's id and, by default, each of its roles (`roles`). Object: the route
 *   pattern, else the path as the router compares it (`object`). Action: the method, `HEAD` as
 *   `GET`; `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override` and `_method` never
 *   change it. Domain: `domain(ctx)` for models with `dom`.
 * - The enforcer is built once, at startup (`ready`); decisions use `enforceExSync` where the
 *   model allows it and are memoised in a bounded memo per loaded policy, so a memoised
 *   decision is synchronous. ABAC models are memoised only with `cacheKey`.
 * - `reload()` swaps in a fresh enforcer only when it loaded completely; `watcher` reloads every
 *   instance when one announces a change. Every `authz.*` event carries the `policyVersion`.
 * - Denials answer 403 `authz.forbidden` (`authz.denied` with subject, object, action and policy
 *   version); no principal 401; an engine error 500 `server.internal` and `authz.error`; a policy
 *   that never loaded 503 `authz.unavailable`. An error never allows.
 *
 * @example
 * ```ts
 * const rbac = casbin({ model: 'rbac_model.conf', policy: 'rbac_policy.csv' })
 * await rbac.ready
 * app.get('/notes/:id', guard(jwt(opts), rbac), getNote)
 * ```
 */
export function casbin(options: CasbinOptions): CasbinGuard {
  const where = 'casbin()'
  const config = parseOptions(options, where)
  let plan = config.source.shape === undefined ? undefined : planFor(config.source.shape, config, where)
  let current: Loaded | undefined
  let version = 0
  let chain: Promise<unknown> = Promise.resolve()

  const load = async (trigger: PolicyLoadTrigger): Promise<number> => {
    const started = performance.now()
    try {
      const enforcer = await config.source.load()
      const nextPlan = planFor(shapeOfEnforcer(enforcer, where), config, where)
      if (plan !== undefined && nextPlan.fill.join() !== plan.fill.join()) {
        throw new TypeError(
          `${where}: the reloaded model's request (${nextPlan.fill.join(', ')}) differs from the one in use`,
        )
      }
      plan = nextPlan
      const memoised = config.cacheMax > 0 && (nextPlan.plainKey || config.cacheKey !== undefined)
      version += 1
      current = {
        enforcer,
        version,
        memo: memoised ? new DecisionMemo(config.cacheMax) : undefined,
        sync: decidesSync(enforcer),
      }
      config.events.report('authz.reloaded', {
        policyVersion: version,
        trigger,
        durationMs: performance.now() - started,
        rules: ruleCount(enforcer),
      })
      return version
    } catch (err) {
      config.events.report('authz.reload_failed', {
        severity: 'error',
        policyVersion: version,
        trigger,
        durationMs: performance.now() - started,
        detail: message(err),
        error: err,
      })
      throw err
    }
  }
  const queue = (trigger: PolicyLoadTrigger): Promise<number> => {
    const run = chain.then(() => load(trigger))
    chain = run.catch(() => {})
    return run
  }

  const ready: Promise<void> = queue('startup').then(() => {})
  ready.catch(() => {})
  config.watcher?.setUpdateCallback(() => {
    queue('watcher').catch(() => {})
  })

  const denied = (ctx: SecurityContext, d: Denied): never => {
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
  const failed = (ctx: SecurityContext, callback: string, err: unknown, policyVersion: number): never => {
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

  const decide = (
    ctx: SecurityContext,
    principal: Principal,
    state: Loaded,
    p: Plan,
  ): void | Promise<void> => {
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
    const roles = p.roles === 'none' ? undefined : rolesOf(principal)
    const tuple = (sub: string): unknown[] =>
      p.fill.map((token) => {
        if (token === 'sub') return sub
        if (token === 'obj') return object
        if (token === 'act') return action
        if (token === 'dom') return domain
        if (token === 'roles') return roles!.list
        return attributes![token]
      })
    const memo = state.memo
    let first: unknown[] | undefined
    let key: string | undefined
    if (memo !== undefined) {
      if (config.cacheKey !== undefined) {
        first = tuple(subject)
        try {
          key = config.cacheKey(ctx, first)
        } catch (err) {
          return failed(ctx, 'cacheKey', err, state.version)
        }
        if (typeof key !== 'string') key = undefined
      } else {
        // Length-prefixed, so no subject, domain or object can spell another request's key.
        const dom = domain ?? ''
        key = `${subject.length}:${subject}${dom.length}:${dom}${object.length}:${object}${action}${SEP}${roles?.key ?? ''}`
      }
      if (key !== undefined) {
        // A memoised decision is synchronous and builds nothing more.
        const known = memo.get(key)
        if (known === true) return
        if (known === false) return denied(ctx, new Denied(subject, object, action, domain, state.version))
      }
    }
    const tuples = [first ?? tuple(subject)]
    if (p.roles === 'subjects') for (const role of roles!.list) if (role !== subject) tuples.push(tuple(role))
    const settle = (allowed: boolean): void => {
      if (key !== undefined) memo!.set(key, allowed)
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

  const unavailable = (ctx: SecurityContext): never => {
    ctx.emit('authz.denied', {
      severity: 'error',
      code: 'authz.unavailable',
      guard: 'casbin',
      reason: 'policy_unavailable',
      policyVersion: 0,
    })
    throw new ServiceUnavailable({
      code: 'authz.unavailable',
      detail: 'Authorization is unavailable; try again later.',
    })
  }

  const check = (ctx: SecurityContext): void | Promise<void> => {
    const principal = ctx.principal
    if (principal === undefined) {
      ctx.emit('authz.denied', {
        severity: 'warn',
        guard: 'casbin',
        reason: 'unauthenticated',
        policyVersion: version,
      })
      throw config.challenges.unauthenticated(ctx)
    }
    const state = current
    if (state !== undefined) return decide(ctx, principal, state, plan!)
    return ready.then(
      () => decide(ctx, principal, current!, plan!),
      () => (current === undefined ? unavailable(ctx) : decide(ctx, principal, current, plan!)),
    )
  }

  const guard = defineGuard(check, {
    guardName: 'casbin',
    kind: 'authorization',
    settings: {
      source: config.source.kind,
      object: typeof config.object === 'function' ? 'function' : config.object,
      roles: config.roles ?? 'default',
      domain: config.domain !== undefined,
      cache: config.cacheMax,
      watcher: config.watcher !== undefined,
    },
  })
  return Object.defineProperties(guard, {
    ready: { value: ready, enumerable: true },
    reload: {
      value: () => {
        if (!config.source.reloadable) {
          return Promise.reject(
            new TypeError(
              `${where}: a ready enforcer instance cannot be reloaded: pass enforcer as a function that builds one, or model with policy or adapter`,
            ),
          )
        }
        return queue('reload')
      },
    },
    policyVersion: { get: () => version, enumerable: true },
    memoised: {
      get: () =>
        config.cacheMax > 0 && plan !== undefined && (plan.plainKey || config.cacheKey !== undefined),
      enumerable: true,
    },
  }) as CasbinGuard
}

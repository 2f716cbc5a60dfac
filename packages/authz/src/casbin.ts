import { defineGuard, type Guard, type SecurityContext } from '@apiward/core'
import { ServiceUnavailable } from '@apiward/errors'
import { decide, decidesSync, type Loaded, message } from './casbin-decision.js'
import { ruleCount, shapeOfEnforcer } from './casbin-model.js'
import { type CasbinOptions, type Plan, parseOptions, planFor } from './casbin-options.js'
import { DecisionMemo } from './decision-memo.js'
import type { PolicyLoadTrigger } from './events.js'

export type { CasbinOptions, CasbinRoles } from './casbin-options.js'

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
  let plan: Plan | undefined =
    config.source.shape === undefined ? undefined : planFor(config.source.shape, config, where)
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
        plan: nextPlan,
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
    if (state !== undefined) return decide(config, ctx, principal, state)
    return ready.then(
      () => decide(config, ctx, principal, current!),
      () => (current === undefined ? unavailable(ctx) : decide(config, ctx, principal, current)),
    )
  }

  const guard = defineGuard(check, {
    guardName: 'casbin',
    kind: 'authorization',
    settings: {
      source: config.source.kind,
      object: typeof config.object === 'function' ? 'function' : config.object,
      roles: config.roles ?? 'default',
      rolePrefix: config.rolePrefix,
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

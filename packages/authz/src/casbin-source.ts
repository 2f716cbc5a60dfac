import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { type Adapter, Enforcer, newEnforcer, newModelFromString, StringAdapter } from 'casbin'
import { checkPolicyText, type ModelShape, shapeOf, shapeOfEnforcer } from './casbin-model.js'

/** Where `casbin()` gets its enforcers: each call of `load()` builds a fresh one. */
export interface EnforcerSource {
  /** The model's shape when it is known before the first load (a model or a ready enforcer). */
  readonly shape: ModelShape | undefined
  /** Whether `load()` can build another enforcer after the first (not for a ready instance). */
  readonly reloadable: boolean
  /** What the source is, for route inventories: `model+policy`, `model+adapter`, `enforcer`. */
  readonly kind: string
  load(): Promise<Enforcer>
}

function isText(value: string, marker: RegExp): boolean {
  return value.includes('\n') || marker.test(value)
}

function textOrFile(
  value: unknown,
  name: string,
  where: string,
  marker: RegExp,
): { text?: string; file?: string } {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${where}: ${name} must be a file path or the ${name} text`)
  }
  if (isText(value, marker)) return { text: value }
  if (!existsSync(value)) {
    throw new TypeError(`${where}: ${name} file "${value}" does not exist (give a path or the ${name} text)`)
  }
  return { file: value }
}

function isEnforcer(value: unknown): value is Enforcer {
  return (
    value instanceof Enforcer || (typeof value === 'object' && value !== null && 'enforceExSync' in value)
  )
}

function isAdapter(value: unknown): value is Adapter {
  return typeof value === 'object' && value !== null && typeof (value as Adapter).loadPolicy === 'function'
}

/**
 * Reads the enforcer options of `casbin()` once: a model (file or text) with a policy (file or
 * CSV text) or any casbin adapter, or a ready enforcer (an instance, or a function that builds
 * one for each load). The model is parsed now, so a broken model fails at startup.
 */
export function enforcerSource(
  options: { model?: unknown; policy?: unknown; adapter?: unknown; enforcer?: unknown },
  where: string,
): EnforcerSource {
  const { model, policy, adapter, enforcer } = options
  if (enforcer !== undefined) {
    if (model !== undefined || policy !== undefined || adapter !== undefined) {
      throw new TypeError(`${where}: give either enforcer, or model with policy or adapter, not both`)
    }
    if (typeof enforcer === 'function') {
      return {
        shape: undefined,
        reloadable: true,
        kind: 'enforcer',
        load: async () => {
          const built: unknown = await (enforcer as () => unknown)()
          if (!isEnforcer(built)) throw new TypeError(`${where}: enforcer() must return a casbin Enforcer`)
          return built
        },
      }
    }
    if (!isEnforcer(enforcer)) {
      throw new TypeError(`${where}: enforcer must be a casbin Enforcer or a function that builds one`)
    }
    return {
      shape: shapeOfEnforcer(enforcer, where),
      reloadable: false,
      kind: 'enforcer',
      load: async () => enforcer,
    }
  }
  if (model === undefined) {
    throw new TypeError(
      `${where}: give a model (file path or text) with a policy or an adapter, or a ready enforcer, e.g. casbin({ model: 'rbac_model.conf', policy: 'rbac_policy.csv' })`,
    )
  }
  const modelSource = textOrFile(model, 'model', where, /\[request_definition\]/)
  const modelText = modelSource.text ?? readFileSync(modelSource.file!, 'utf8')
  let shape: ModelShape
  try {
    shape = shapeOf(newModelFromString(modelText), where)
  } catch (err) {
    if (err instanceof TypeError) throw err
    throw new TypeError(
      `${where}: the model does not parse: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
  if ((policy === undefined) === (adapter === undefined)) {
    throw new TypeError(`${where}: give the policy (file path or CSV text) or a casbin adapter, one of them`)
  }
  if (adapter !== undefined) {
    if (!isAdapter(adapter))
      throw new TypeError(`${where}: adapter must be a casbin adapter (with loadPolicy)`)
    return {
      shape,
      reloadable: true,
      kind: 'model+adapter',
      load: () => newEnforcer(newModelFromString(modelText), adapter),
    }
  }
  const policySource = textOrFile(policy, 'policy', where, /,/)
  if (policySource.text !== undefined) {
    try {
      checkPolicyText(policySource.text, shape)
    } catch (err) {
      throw new TypeError(`${where}: ${(err as Error).message}`)
    }
  }
  return {
    shape,
    reloadable: true,
    kind: 'model+policy',
    load: async () => {
      const text = policySource.text ?? (await readFile(policySource.file!, 'utf8'))
      checkPolicyText(text, shape)
      return newEnforcer(newModelFromString(modelText), new StringAdapter(text))
    },
  }
}

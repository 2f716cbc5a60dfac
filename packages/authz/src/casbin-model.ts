import type { Enforcer, Model } from 'casbin'

/** The request values `casbin()` fills from the request and the principal, by token name. */
export const FILLED_TOKENS = ['sub', 'obj', 'act', 'dom', 'roles'] as const

/** What `casbin()` needs to know of a model, read once when the guard is built. */
export interface ModelShape {
  /** The request definition's token names, in order (`sub`, `obj`, `act`, ...). */
  readonly tokens: readonly string[]
  /** Tokens other than those `casbin()` fills: values of the `attributes` option. */
  readonly extra: readonly string[]
  /**
   * Whether the matcher reads more than the plain request values (an attribute of a request
   * value such as `r.sub.Owner`, an `eval()` of a rule): then a decision depends on more than
   * subject, object, action and domain, and is not memoised without a key function.
   */
  readonly readsAttributes: boolean
  /** The policy types (`p`, `p2`, `g`, ...) and how many fields each rule has. */
  readonly ruleTypes: ReadonlyMap<string, { fields: number; optionalLast: boolean }>
}

/** The shape of a casbin model: request tokens, whether the matcher reads attributes, rule types. */
export function shapeOf(model: Model, where: string): ModelShape {
  const request = model.model.get('r')?.get('r')
  const matcher = model.model.get('m')?.get('m')?.value
  if (request === undefined || matcher === undefined || model.model.get('e')?.get('e') === undefined) {
    throw new TypeError(
      `${where}: the model needs [request_definition] r, [policy_effect] e and [matchers] m (see casbin's model syntax)`,
    )
  }
  const tokens = request.tokens.map((t) => t.replace(/^r_/, ''))
  for (const needed of ['sub', 'obj', 'act']) {
    if (!tokens.includes(needed)) {
      throw new TypeError(
        `${where}: the model's request definition must name sub, obj and act (got "r = ${tokens.join(', ')}")`,
      )
    }
  }
  const ruleTypes = new Map<string, { fields: number; optionalLast: boolean }>()
  for (const section of ['p', 'g']) {
    for (const [key, assertion] of model.model.get(section) ?? []) {
      const fields = section === 'p' ? assertion.tokens.length : assertion.value.split(',').length
      ruleTypes.set(key, { fields, optionalLast: assertion.tokens.at(-1) === `${key}_eft` })
    }
  }
  return {
    tokens,
    extra: tokens.filter((t) => !(FILLED_TOKENS as readonly string[]).includes(t)),
    readsAttributes: /\br_\w+\.|\beval\s*\(/.test(matcher),
    ruleTypes,
  }
}

/** The shape of a loaded enforcer's model. */
export function shapeOfEnforcer(enforcer: Enforcer, where: string): ModelShape {
  return shapeOf(enforcer.getModel(), where)
}

/**
 * Refuses policy text casbin would load in part: a rule of a type the model does not define
 * (`P, alice, ...`, a typo) or with the wrong number of fields (a line cut short) is silently
 * skipped by casbin, which can drop a deny rule. Comments (`#`) and empty lines are allowed.
 */
export function checkPolicyText(text: string, shape: ModelShape): void {
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '' || line.startsWith('#')) continue
    const fields = csvFields(line)
    const type = fields[0]!
    const rule = shape.ruleTypes.get(type)
    if (rule === undefined) {
      throw new Error(`policy line ${i + 1}: "${type}" is not a policy type of the model`)
    }
    const count = fields.length - 1
    const least = rule.optionalLast ? rule.fields - 1 : rule.fields
    if (count < least || count > rule.fields || fields.some((f) => f === '')) {
      throw new Error(`policy line ${i + 1}: a "${type}" rule has ${rule.fields} fields, this one ${count}`)
    }
  }
}

/** The fields of a CSV policy line, as casbin reads them: double quotes may hold commas. */
function csvFields(line: string): string[] {
  const fields: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (c === '"') {
      if (quoted && line[i + 1] === '"') {
        field += '"'
        i++
      } else quoted = !quoted
    } else if (c === ',' && !quoted) {
      fields.push(field.trim())
      field = ''
    } else field += c
  }
  fields.push(field.trim())
  return fields
}

/** How many policy and grouping rules a loaded enforcer holds. */
export function ruleCount(enforcer: Enforcer): number {
  let count = 0
  const model = enforcer.getModel().model
  for (const section of ['p', 'g'])
    for (const assertion of model.get(section)?.values() ?? []) count += assertion.policy.length
  return count
}

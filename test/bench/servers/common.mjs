// Pieces every framework's server shares: the apiward guards of a stack, the parts of a limit
// server, and the building blocks of the `popular` stacks (ajv, casbin, a pino destination that discards).
import { stackByName } from '../stacks.mjs'

/** The options a stack gives the adapter's createGuard() and error handling. */
export function adapterOptions(stackName) {
  return stackByName.get(stackName).adapterOptions ?? {}
}

/** The apiward guards of a stack, built once at startup as a user would. */
export async function apiwardGuards(stackName, config) {
  const stack = stackByName.get(stackName)
  if (typeof stack.guards !== 'function') throw new Error(`${stackName} is not an apiward stack`)
  return stack.guards(config)
}

/**
 * The per-request rebuild of the headers a stack computes per request (`limit.changing`):
 * `refresh()` gives each of them, in place in `headers`, a fresh string of the recorded value's
 * length, its first number counted down, as a limiter's remaining quota is. `undefined` when no
 * header of the list changes.
 */
function changingValues(headers, names) {
  const parts = []
  for (const entry of headers) {
    if (!names.includes(entry[0])) continue
    const m = /^(\D*)(\d+)(.*)$/s.exec(entry[1])
    if (m === null) throw new Error(`the changing header ${entry[0]} has no number: ${entry[1]}`)
    parts.push({ entry, head: m[1], n: Number(m[2]), tail: m[3] })
  }
  if (parts.length === 0) return undefined
  return () => {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      part.entry[1] = `${part.head}${--part.n}${part.tail}`
    }
  }
}

/** What a limit server does by hand: the response headers its stack sent, and the stack's work. */
export async function limitParts(stackName, config) {
  const stack = stackByName.get(stackName)
  const headers = config.limitHeaders?.[`${config.framework}/${stack.limitOf}`]
  if (!Array.isArray(headers))
    throw new Error(`${stackName}: the runner gave no header list for ${stack.limitOf}`)
  return {
    headers,
    refresh: changingValues(headers, stack.changing ?? []),
    work: stack.work ? await stack.work(config) : undefined,
    readsIp: stack.readsIp === true,
    readsParams: stack.readsParams === true,
  }
}

/** The body a limit server answers a request without its credential with. */
export const DENIED = { code: 'auth.invalid_token' }

/** The query schema of the `popular` stacks, for ajv and for Fastify's route schema. */
export const QUERY_SCHEMA = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 100 } },
  required: ['limit'],
  additionalProperties: false,
}

/** The query validator, compiled once. */
export async function queryValidator() {
  const { Ajv } = await import('ajv')
  return new Ajv({ coerceTypes: true }).compile(QUERY_SCHEMA)
}

/** A casbin RBAC enforcer over the model and policy the runner wrote to a temp dir. */
export async function casbinEnforcer(config) {
  const { newEnforcer } = await import('casbin')
  return newEnforcer(config.casbin.model, config.casbin.policy)
}

/** A pino logger writing to /dev/null: the cost of logging a line without a disk behind it. */
export async function nullLogger() {
  const { pino } = await import('pino')
  return pino(pino.destination('/dev/null'))
}

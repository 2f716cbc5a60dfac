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

/** What a limit server does by hand: the response headers its stack sent, and the stack's work. */
export async function limitParts(stackName, config) {
  const stack = stackByName.get(stackName)
  const headers = config.limitHeaders?.[`${config.framework}/${stack.limitOf}`]
  if (!Array.isArray(headers))
    throw new Error(`${stackName}: the runner gave no header list for ${stack.limitOf}`)
  return {
    headers,
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

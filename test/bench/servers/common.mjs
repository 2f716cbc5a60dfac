// Pieces every framework's server shares: the apiward guards of a stack, and the building blocks
// of the `popular` stacks (ajv, casbin, a pino destination that discards).
import { once } from 'node:events'
import { AUDIENCE, ISSUER, stackByName } from '../stacks.mjs'

/** The options a stack gives the adapter's createGuard() and error handling. */
export function adapterOptions(stackName) {
  return stackByName.get(stackName).adapterOptions ?? {}
}

/** The apiward guards of a stack, built once at startup as a user would. */
export async function apiwardGuards(stackName, config) {
  const stack = stackByName.get(stackName)
  if (stack.name === 'empty' || stack.name === 'empty-noRequestId') return []
  if (stack.name === 'rateLimit-memory') {
    const { rateLimit } = await import('@apiward/ratelimit')
    return [rateLimit({ points: 1e9, duration: 60 })]
  }
  if (stack.name === 'rateLimit-memory-noHeaders') {
    const { rateLimit } = await import('@apiward/ratelimit')
    return [rateLimit({ points: 1e9, duration: 60, standardHeaders: false })]
  }
  if (stack.name === 'rateLimit-redis') {
    const { rateLimit, redisStore } = await import('@apiward/ratelimit')
    const { Redis } = await import('ioredis')
    const client = new Redis({
      host: '127.0.0.1',
      port: config.redisPort,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    })
    await once(client, 'ready')
    const store = redisStore({ client, prefix: `bench:${process.pid}:` })
    return [rateLimit({ points: 1e9, duration: 60, store, onStoreFailure: 'fail-closed' })]
  }
  if (stack.jwt) {
    const { jwt } = await import('@apiward/auth')
    const { alg, cache } = stack.jwt
    return [
      jwt({
        jwks: { keys: [config.keys[alg].jwk] },
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [alg],
        ...(cache ? {} : { tokenCache: false }),
      }),
    ]
  }
  throw new Error(`${stackName} is not an apiward stack`)
}

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

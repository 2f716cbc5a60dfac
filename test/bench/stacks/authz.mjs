// @apiward/authz after `jwt-ES256-cache`: casbin RBAC with and without its decision memo, next to the
// popular `await enforcer.enforce()` per request, `scopes()`, and `owner()` with an in-memory load.
// Each is measured against the limit of `jwt-ES256-cache` (the token looked up in a Map), and its
// budget is net of what `jwt-ES256-cache` adds beyond that limit: what the authz guard itself costs.
import { AUDIENCE, ISSUER } from '../constants.mjs'
import { principalOf } from '../limit-parts.mjs'

/** The limit of `jwt-ES256-cache`: the bearer token looked up in a Map filled at startup (401 without it). */
const knownToken = {
  about: 'the bearer token looked up in a Map filled at startup (401 without it), as for jwt-ES256-cache',
  work: (config) => {
    const token = config.tokens.ES256
    const known = new Map([[token, principalOf(JSON.parse(Buffer.from(token.split('.')[1], 'base64url')))]])
    return (authorization) =>
      typeof authorization === 'string' && authorization.startsWith('Bearer ')
        ? known.get(authorization.slice(7))
        : undefined
  },
}

const authn = async (config) => {
  const { jwt } = await import('@apiward/auth')
  return jwt({
    jwks: { keys: [config.keys.ES256.jwk] },
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['ES256'],
  })
}

/** The casbin guard over the bench's RBAC model and policy (the popular stack's files), loaded before serving. */
const rbac = async (config, cache) => {
  const { casbin } = await import('@apiward/authz')
  const guard = casbin({ model: config.casbin.model, policy: config.casbin.policy, cache })
  await guard.ready
  return guard
}

const shared = { apiward: true, token: 'ES256', headers: ['x-request-id'] }

export const stacks = [
  {
    ...shared,
    name: 'casbin-rbac-cache',
    guards: async (config) => [await authn(config), await rbac(config, true)],
    limit: knownToken,
    budget: {
      instructions: 1000,
      base: 'jwt-ES256-cache',
      label: '`casbin()` on a memoised decision: subject, object, action and roles key, one Map lookup',
    },
    about: 'jwt-ES256-cache, then casbin() RBAC (route pattern, method) with its decision memo (the default)',
  },
  {
    ...shared,
    name: 'casbin-rbac-nocache',
    guards: async (config) => [await authn(config), await rbac(config, false)],
    limit: knownToken,
    about:
      'jwt-ES256-cache, then casbin() with cache: false: enforceExSync on every request (at most half of casbin-await-enforce)',
  },
  {
    ...shared,
    name: 'casbin-await-enforce',
    guards: async (config) => {
      const { defineGuard } = await import('@apiward/core')
      const { Forbidden } = await import('@apiward/errors')
      const { newEnforcer } = await import('casbin')
      const enforcer = await newEnforcer(config.casbin.model, config.casbin.policy)
      const popular = defineGuard(
        async (ctx) => {
          if (!(await enforcer.enforce(ctx.principal?.id, ctx.req.path, ctx.req.method)))
            throw new Forbidden()
        },
        { guardName: 'awaitEnforce' },
      )
      return [await authn(config), popular]
    },
    limit: knownToken,
    about:
      'jwt-ES256-cache, then the popular pattern (casbin-express-authz, koa-authz): `await enforcer.enforce(sub, path, method)` per request',
  },
  {
    ...shared,
    name: 'scopes',
    guards: async (config) => {
      const { scopes } = await import('@apiward/authz')
      return [await authn(config), scopes('notes:read')]
    },
    limit: knownToken,
    budget: { instructions: 1000, base: 'jwt-ES256-cache', label: "`scopes('notes:read')`" },
    about: "jwt-ES256-cache, then scopes('notes:read')",
  },
  {
    ...shared,
    name: 'owner-memory',
    guards: async (config) => {
      const { owner } = await import('@apiward/authz')
      const notes = new Map([['n1', { id: 'n1', ownerId: 'alice' }]])
      const note = owner({ load: () => notes.get('n1'), ownerOf: (n) => n.ownerId })
      return [await authn(config), note]
    },
    limit: knownToken,
    budget: {
      instructions: 1000,
      base: 'jwt-ES256-cache',
      label: '`owner()` with an in-memory load: the load, the ownership check, the typed state',
    },
    about: 'jwt-ES256-cache, then owner() loading from a Map and comparing the owner with the principal',
  },
]

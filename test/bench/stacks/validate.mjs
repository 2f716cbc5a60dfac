// @apiward/validate on the bench route (`GET /hello?limit=10`): the query checked and coerced by
// `validate()`, the answer filtered by `response()`, next to a Fastify route schema on the same
// query. The bench route has no body, so `jsonBody()` + `validate({ body })` on a small POST waits
// for the harness to send one.
import { BODY } from '../constants.mjs'

const limitQuery = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 100 } },
  required: ['limit'],
}

/** A response schema that declares every property of the bench body, so the filter keeps it whole. */
const helloSchema = {
  type: 'object',
  properties: {
    message: { type: 'string' },
    limit: { type: 'integer' },
    items: { type: 'array', items: { type: 'integer' } },
  },
  required: Object.keys(BODY),
}

/** The reference API's id parameter, as `validate({ params })` checks it. */
const ID_PATTERN = '^[a-z0-9-]{1,64}$'
const idParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64, pattern: ID_PATTERN } },
  required: ['id'],
  additionalProperties: false,
}

export const stacks = [
  {
    name: 'validate-params',
    apiward: true,
    route: '/notes/:id',
    path: '/notes/n1',
    headers: ['x-request-id'],
    guards: async () => {
      const { validate } = await import('@apiward/validate')
      return [validate({ params: idParams })]
    },
    limit: {
      readsParams: true,
      about: "the route's id read from the framework's params and tested against the same pattern by hand",
      work: async () => {
        const id = new RegExp(ID_PATTERN)
        const valid = { valid: true }
        return (_authorization, params) =>
          typeof params?.id === 'string' && id.test(params.id) ? valid : undefined
      },
    },
    budget: {
      instructions: 1000,
      base: 'empty',
      label:
        '`validate({ params })` of one id: a compiled ajv function on the params, beyond testing the pattern by hand',
    },
    about:
      'validate({ params }) on GET /notes/:id: the id checked against ^[a-z0-9-]{1,64}$ by a compiled ajv function',
  },
  {
    name: 'validate-query',
    apiward: true,
    headers: ['x-request-id'],
    guards: async () => {
      const { validate } = await import('@apiward/validate')
      return [validate({ query: limitQuery })]
    },
    limit: {},
    about:
      'validate({ query }): the query parsed from the URL, `limit` coerced to an integer and checked by a compiled ajv function',
  },
  {
    name: 'response-filter',
    apiward: true,
    headers: ['x-request-id'],
    guards: async () => {
      const { response } = await import('@apiward/validate')
      return [response(helloSchema)]
    },
    limit: {},
    about:
      'response(schema): the answer copied through the projection compiled from its schema (every property declared)',
  },
  {
    name: 'fastify-route-schema',
    peerOf: 'validate-query',
    headers: [],
    limit: {},
    install: {
      fastify: async (app, _config, handler) => {
        app.get('/hello', { schema: { querystring: limitQuery } }, handler)
      },
    },
    about: "Fastify's own route schema on the query (`schema.querystring`, its ajv with coercion)",
  },
]

import { jsonBody, kValidated, response, validate } from '@apiward/validate'
import type { RouteSpec } from '../conformance/harness.js'

/** The reference API's note, as `POST /notes` takes it. */
export const newNote = {
  type: 'object',
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    body: { type: 'string', maxLength: 10_000, default: '' },
    tags: { type: 'array', maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 32 } },
  },
  required: ['title'],
} as const

export const noteId = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[a-z0-9-]{1,64}$', maxLength: 64 } },
  required: ['id'],
} as const

export const listQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    tag: { type: 'array', items: { type: 'string', maxLength: 32 }, maxItems: 5 },
  },
} as const

export const createNote = validate({ name: 'POST /notes', body: newNote })
export const updateNote = validate({
  name: 'PATCH /notes/:id',
  params: noteId,
  body: { ...newNote, required: [] },
})
export const listNotes = validate({ name: 'GET /notes', query: listQuery })
export const versioned = validate({
  headers: { type: 'object', properties: { 'api-version': { type: 'integer', enum: [1, 2] } } },
})
/** Schemas that name properties every object inherits: an input without them must still fail. */
export const inheritedParam = validate({
  params: {
    type: 'object',
    properties: { id: { type: 'string', maxLength: 64 }, toString: { type: 'string', maxLength: 64 } },
    required: ['id', 'toString'],
  },
})
export const inheritedHeader = validate({
  headers: {
    type: 'object',
    properties: { constructor: { type: 'string', maxLength: 64 } },
    required: ['constructor'],
  },
})
export const publicNote = response({
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    owner: { type: 'object', properties: { id: { type: 'string' } } },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['id', 'title'],
})

/** The routes every adapter serves in the validation suites. */
export const validateRoutes: RouteSpec[] = [
  {
    method: 'POST',
    path: '/notes',
    guards: [createNote],
    handler: ({ body, state }) => ({
      status: 201,
      body: { body, validated: state(createNote.body) ?? null, same: body === state(createNote.body) },
    }),
  },
  {
    method: 'PATCH',
    path: '/notes/:id',
    guards: [updateNote],
    handler: ({ state, params }) => ({
      body: { params: state(updateNote.params), body: state(updateNote.body), framework: { ...params } },
    }),
  },
  {
    method: 'GET',
    path: '/notes',
    guards: [listNotes],
    handler: ({ state, query }) => ({
      body: { query: { ...state(listNotes.query) }, framework: { ...query } },
    }),
  },
  {
    method: 'GET',
    path: '/versioned',
    guards: [versioned],
    handler: ({ state }) => ({ body: { headers: { ...state(versioned.headers) } } }),
  },
  {
    method: 'GET',
    path: '/inherited/:id',
    guards: [inheritedParam],
    handler: ({ state }) => ({ body: { params: { ...state(inheritedParam.params) } } }),
  },
  {
    method: 'GET',
    path: '/inherited-header',
    guards: [inheritedHeader],
    handler: ({ state }) => ({ body: { headers: { ...state(inheritedHeader.headers) } } }),
  },
  {
    method: 'POST',
    path: '/raw-json',
    guards: [jsonBody({ limit: 1024 })],
    handler: ({ body, state }) => ({ body: { body: body ?? null, all: state(kValidated) ?? null } }),
  },
  {
    method: 'GET',
    path: '/notes/:id',
    guards: [publicNote],
    handler: ({ params }) => ({
      body: {
        id: params.id,
        title: 't',
        ownerEmail: 'alice@example.test',
        owner: { id: 'alice', passwordHash: 'x' },
        tags: ['a'],
      },
    }),
  },
]

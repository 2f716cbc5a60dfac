import {
  booleanOption,
  checkOptions,
  compileProjection,
  defineGuard,
  fieldErrorsOf,
  type Guard,
  type KnownOptions,
  type Projection,
  type ProjectionTree,
  type SecurityContext,
} from '@apiward/core'
import { type Check, type RegExpEngine, SchemaCompiler } from './compiler.js'
import type { JsonSchema } from './schema-type.js'

/** Options of {@link response}. */
export interface ResponseOptions {
  /**
   * The statuses whose bodies are filtered: a list, or `'success'` for 200 to 299. Default
   * `'success'`; an error's body is a problem document and never passes through.
   */
  statuses?: 'success' | readonly number[]
  /**
   * Also validate each filtered body against the schema and report a mismatch as a
   * `validation.response_drift` event (the response is still sent). Default `false`: it costs a
   * validation per response; turn it on in development and tests, e.g.
   * `checkDrift: process.env.NODE_ENV !== 'production'`.
   */
  checkDrift?: boolean
  /** The regular-expression engine of the drift check (see `validate()`'s `regExp`). */
  regExp?: RegExpEngine
}

const OPTIONS: KnownOptions<ResponseOptions> = { statuses: true, checkDrift: true, regExp: true }
const MISTAKES: Readonly<Record<string, string>> = {
  status: 'statuses',
  validate: 'checkDrift',
  drift: 'checkDrift',
}

type SchemaObject = Record<string, unknown>
const isObject = (v: unknown): v is SchemaObject => typeof v === 'object' && v !== null && !Array.isArray(v)
const MAX_DEPTH = 32

/** What a schema lets leave the server: `true` for a value kept whole, a tree for an object. */
type Allowed = true | { [property: string]: Allowed }

/**
 * The projection tree of a schema: the properties it declares, recursively (through `items`,
 * `prefixItems`, `allOf`/`anyOf`/`oneOf`, local `$ref`s and `additionalProperties` schemas, as
 * `'*'`). A property the schema does not declare is left out; a schema that declares no object
 * shape keeps its value whole.
 */
export function projectionOf(schema: JsonSchema, root: JsonSchema = schema, depth = 0): Allowed {
  if (!isObject(schema)) return true
  if (depth > MAX_DEPTH) return {}
  if (typeof schema.$ref === 'string') {
    const target = resolveLocal(root, schema.$ref)
    if (target === undefined)
      throw new TypeError(`response(): cannot resolve $ref ${schema.$ref} (only local refs are followed)`)
    return projectionOf(target, root, depth + 1)
  }
  const branches = ['allOf', 'anyOf', 'oneOf'].flatMap((k) =>
    Array.isArray(schema[k]) ? (schema[k] as JsonSchema[]) : [],
  )
  let tree: Allowed | undefined
  const merge = (next: Allowed) => {
    tree = tree === undefined ? next : mergeTrees(tree, next)
  }
  if (isObject(schema.properties)) {
    const own: Record<string, Allowed> = {}
    for (const [name, sub] of Object.entries(schema.properties))
      own[name] = projectionOf(sub as JsonSchema, root, depth + 1)
    merge(own)
  }
  if (schema.additionalProperties === true || isObject(schema.additionalProperties)) {
    merge({ '*': projectionOf(schema.additionalProperties as JsonSchema, root, depth + 1) })
  }
  if (schema.items !== undefined && !Array.isArray(schema.items))
    merge(projectionOf(schema.items as JsonSchema, root, depth + 1))
  for (const item of [schema.prefixItems, Array.isArray(schema.items) ? schema.items : undefined]) {
    if (Array.isArray(item)) for (const s of item) merge(projectionOf(s as JsonSchema, root, depth + 1))
  }
  for (const branch of branches) merge(projectionOf(branch, root, depth + 1))
  if (tree !== undefined) return tree
  const type = schema.type
  const objectish = type === 'object' || (Array.isArray(type) && type.includes('object'))
  return objectish ? {} : true
}

function mergeTrees(a: Allowed, b: Allowed): Allowed {
  if (a === true || b === true) return true
  const out: Record<string, Allowed> = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = out[k] === undefined ? v : mergeTrees(out[k]!, v)
  return out
}

function resolveLocal(root: JsonSchema, ref: string): JsonSchema | undefined {
  if (!ref.startsWith('#')) return undefined
  let at: unknown = root
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~')
    if (!isObject(at) || !Object.hasOwn(at, key)) return undefined
    at = at[key]
  }
  return at as JsonSchema
}

/** A compiled response filter: the projection and, when asked, the drift check. */
export interface ResponseFilter {
  readonly project: Projection
  readonly drift: Check | undefined
  readonly compiler: SchemaCompiler | undefined
}

/** Compiles what `response()` and `openapi()` need of a response schema. */
export function compileResponse(
  schema: JsonSchema,
  checkDrift: boolean,
  regExp: RegExpEngine | undefined,
  where: string,
): ResponseFilter {
  const tree = projectionOf(schema)
  const project: Projection = tree === true ? (v) => v : compileProjection(tree as ProjectionTree, where)
  if (!checkDrift) return { project, drift: undefined, compiler: undefined }
  const compiler = new SchemaCompiler({
    allErrors: true,
    maxErrors: 10,
    removeAdditional: false,
    useDefaults: false,
    regExp,
  })
  return { project, drift: compiler.compile(schema, false, `${where}: schema`), compiler }
}

/** Filters a body and reports its drift from the schema. */
export function filterBody(
  ctx: SecurityContext,
  filter: ResponseFilter,
  body: unknown,
  status: number,
): unknown {
  const out = filter.project(body)
  const drift = filter.drift
  if (drift !== undefined && ctx.events.hasListeners) {
    let json: unknown
    try {
      json = JSON.parse(JSON.stringify(out) ?? 'null')
    } catch {
      return out
    }
    if (!drift(json)) {
      const violations = fieldErrorsOf(filter.compiler!.errorsOf(drift), 10)
      ctx.emit('validation.response_drift', {
        severity: 'warn',
        status,
        pointers: violations.map((v) => v.pointer),
        messages: violations.map((v) => v.message),
      })
    }
  }
  return out
}

/** Whether a status is one a filter applies to. */
export function statusFilter(statuses: unknown, where: string): (status: number) => boolean {
  if (statuses === undefined || statuses === 'success') return (s) => s >= 200 && s < 300
  if (!Array.isArray(statuses) || !statuses.every((s) => Number.isInteger(s) && s >= 100 && s < 600)) {
    throw new TypeError(`${where}: statuses must be 'success' or a list of statuses, e.g. [200, 201]`)
  }
  const set = new Set<number>(statuses)
  return (s) => set.has(s)
}

/**
 * Lets only what a response schema declares leave the server: the handler's JSON body is copied
 * through core's projection engine (`compileProjection`), recursively, so a field the schema does
 * not list (`passwordHash`, `ownerEmail`, one a handler adds next year) is never sent. Applies to
 * 200-class answers by default. With `checkDrift`, each filtered body is also validated and a
 * mismatch reported as a `validation.response_drift` event.
 *
 * @example
 * ```ts
 * const publicNote = response({ type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' } } })
 * app.get('/notes/:id', guard(jwt(opts), publicNote), getNote)
 * ```
 */
export function response(schema: JsonSchema, options: ResponseOptions = {}): Guard {
  const where = 'response()'
  if (typeof schema !== 'boolean' && !isObject(schema)) {
    throw new TypeError(
      `${where}: schema must be a JSON Schema object, e.g. { type: 'object', properties: { id: { type: 'string' } } }`,
    )
  }
  checkOptions<ResponseOptions>(options, where, OPTIONS, MISTAKES, '{ checkDrift: true }')
  const applies = statusFilter(options.statuses, where)
  const checkDrift = booleanOption(options.checkDrift, 'checkDrift', where, false)
  const filter = compileResponse(schema, checkDrift, options.regExp, where)
  const transform = (body: unknown, ctx: SecurityContext, status: number) =>
    applies(status) ? filterBody(ctx, filter, body, status) : body
  return defineGuard((ctx) => ctx.onSend(transform), {
    guardName: 'response',
    kind: 'validation',
    settings: { statuses: options.statuses ?? 'success', checkDrift },
  })
}

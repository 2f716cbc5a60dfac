import {
  booleanOption,
  checkOptions,
  compose,
  createKey,
  defineGuard,
  fieldErrorsOf,
  type Guard,
  type KnownOptions,
  type SecurityContext,
  type StateKey,
  warnOnce,
} from '@apiward/core'
import {
  type Check,
  type Coercion,
  closeObjects,
  type RegExpEngine,
  SchemaCompiler,
  unboundedPattern,
} from './compiler.js'
import type { RequestPart } from './events.js'
import { type JsonBodyOptions, jsonBodySettings, kParsedBody, readJsonBody } from './json-body.js'
import { rejected, rejectedEvent, type ValidationFieldError } from './rejected.js'
import type { FromSchema, JsonSchema } from './schema-type.js'

/** The schemas of {@link validate}, one per part of the request; each is optional. */
export interface RequestSchemas {
  /** The router's path parameters (`/notes/:id`), coerced to the types the schema declares. */
  params?: JsonSchema
  /**
   * The query string, parsed from the URL (not from the framework's parser, whose nesting rules
   * differ), coerced to the types the schema declares; a repeated parameter is an array, refused
   * unless the schema says array.
   */
  query?: JsonSchema
  /** Request headers: the properties the schema names (lower case), coerced as declared; the others are ignored. */
  headers?: JsonSchema
  /** The JSON body; never coerced. */
  body?: JsonSchema
}

/** Options of {@link validate}, beside the schemas. */
export interface ValidateOptions extends RequestSchemas {
  /**
   * What the validator protects (`'POST /notes'`), for startup errors and route inventories.
   * Default: none.
   */
  name?: string
  /**
   * Report every violation instead of the first. Default `false`: the first is cheaper and tells
   * a prober less about the schema. With `true`, at most `maxErrors` are listed.
   */
  allErrors?: boolean
  /** The most violations listed with `allErrors`. Default 10. */
  maxErrors?: number
  /**
   * Remove unknown properties instead of refusing them. Default `false`: a client that sends
   * `isAdmin` or `ownerId` is told so (400), never silently half-served.
   */
  removeAdditional?: boolean
  /**
   * Leave object schemas open as written: without it, every object schema with `properties`
   * that says nothing of other properties refuses them. Default `false`.
   */
  dangerouslyAllowUnknownProperties?: boolean
  /**
   * Apply the `default`s the schemas declare to missing properties. Default `true`; only what a
   * schema declares is filled in (never give a privilege-bearing property a default).
   */
  useDefaults?: boolean
  /**
   * The regular-expression engine of `pattern` and `patternProperties` (ajv's `code.regExp`):
   * a linear-time one (re2, re2js) makes patterns safe from catastrophic backtracking. Default:
   * JavaScript's `RegExp` with the `u` flag; lengths are checked before patterns either way.
   */
  regExp?: RegExpEngine
  /**
   * How the body is read when `body` is given: `jsonBody()` options (the body is read, through
   * the body seam, after params, query and headers passed), or `false` to take the body an earlier
   * `jsonBody()` or the framework's parser produced. Default `{}`: `jsonBody()`'s defaults.
   */
  json?: JsonBodyOptions | false
}

type ValueOf<S, K extends keyof RequestSchemas> = S extends { readonly [P in K]: infer V }
  ? FromSchema<V>
  : undefined

/** The validated input of a request, as every validator stores it under {@link kValidated}. */
export interface ValidatedInput {
  params?: Record<string, unknown>
  query?: Record<string, unknown>
  headers?: Record<string, unknown>
  body?: unknown
}

/**
 * The request's validated input, set by `validate()` and `openapi()` for whatever they checked:
 * read it in handlers with the adapter's `stateOf(req, kValidated)`.
 */
export const kValidated: StateKey<ValidatedInput> = createKey<ValidatedInput>('validate.input')

/** The guard `validate()` returns: with a typed state key per part for handlers. */
export type ValidateGuard<S extends RequestSchemas = RequestSchemas> = Guard & {
  /** The coerced path parameters. */
  readonly params: StateKey<ValueOf<S, 'params'>>
  /** The coerced query. */
  readonly query: StateKey<ValueOf<S, 'query'>>
  /** The coerced headers the schema names. */
  readonly headers: StateKey<ValueOf<S, 'headers'>>
  /** The body (the same value as the framework's body property). */
  readonly body: StateKey<ValueOf<S, 'body'>>
}

const OPTIONS: KnownOptions<ValidateOptions> = {
  params: true,
  query: true,
  headers: true,
  body: true,
  name: true,
  allErrors: true,
  maxErrors: true,
  removeAdditional: true,
  dangerouslyAllowUnknownProperties: true,
  useDefaults: true,
  regExp: true,
  json: true,
}
const MISTAKES: Readonly<Record<string, string>> = {
  querystring: 'query',
  path: 'params',
  coerceTypes: 'params and query are coerced as their schemas declare; bodies never are',
  strict: 'ajv runs in strict mode always',
  $data: '$data is off always',
}

/** A compiled part: how its input is read, and its check. */
export interface PartCheck {
  readonly part: RequestPart
  readonly check: Check
  /** Header names the schema declares (lower case); only for `headers`. */
  readonly names?: readonly string[]
  /**
   * Whether the input may be a plain object: the schema names none of `Object.prototype`'s
   * properties (`toString`, `constructor`, ...), whose inherited values a `required` would
   * otherwise see on an input without them.
   */
  readonly plain: boolean
}

const INHERITED = Object.getOwnPropertyNames(Object.prototype).map((name) => JSON.stringify(name))

/** Whether a schema's text holds none of `Object.prototype`'s property names. */
const namesNoInherited = (schema: unknown): boolean => {
  const text = JSON.stringify(schema) ?? ''
  return !INHERITED.some((name) => text.includes(name))
}

const COERCION: Readonly<Record<RequestPart, Coercion>> = {
  params: true,
  query: 'array',
  headers: true,
  body: false,
}

/** Compiles one part's schema, closing its objects unless asked not to. */
export function compilePart(
  compiler: SchemaCompiler,
  part: RequestPart,
  schema: unknown,
  where: string,
  open: boolean,
): PartCheck {
  if (
    typeof schema !== 'boolean' &&
    (typeof schema !== 'object' || schema === null || Array.isArray(schema))
  ) {
    throw new TypeError(
      `${where}: ${part} must be a JSON Schema object, e.g. { type: 'object', properties: { ... } }`,
    )
  }
  if (!compiler.linear) {
    const pattern = unboundedPattern(schema)
    if (pattern !== undefined) {
      warnOnce(
        'APIWARD_VALIDATE_UNBOUNDED_PATTERN',
        `${where}: ${part} has a pattern at ${pattern} on a string without maxLength: with JavaScript's backtracking engine a long input can take seconds. Give it a maxLength, or a linear-time engine (regExp).`,
        'validate.md#redos',
      )
    }
  }
  const check = compiler.compile(
    open ? (schema as JsonSchema) : closeObjects(schema as JsonSchema),
    COERCION[part],
    `${where}: ${part}`,
  )
  const plain = part !== 'query' && part !== 'body' && namesNoInherited(schema)
  if (part !== 'headers') return { part, check, plain }
  const properties = (schema as { properties?: Record<string, unknown> }).properties ?? {}
  const names = Object.keys(properties)
  const upper = names.find((n) => n !== n.toLowerCase())
  if (upper !== undefined) {
    throw new TypeError(
      `${where}: headers: property names must be lower case, as HTTP header names compare: '${upper.toLowerCase()}'`,
    )
  }
  return { part, check, names, plain }
}

/** The query of a request, parsed from its URL: a repeated name is an array, `__proto__` stays data. */
export function queryOf(ctx: SecurityContext): Record<string, unknown> {
  const url = (ctx.req as { raw?: { url?: unknown } }).raw?.url
  const out: Record<string, unknown> = Object.create(null)
  if (typeof url !== 'string') {
    for (const [k, v] of Object.entries(ctx.req.query)) out[k] = v
    return out
  }
  const q = url.indexOf('?')
  if (q === -1) return out
  const hash = url.indexOf('#', q)
  for (const [name, value] of new URLSearchParams(url.slice(q + 1, hash === -1 ? undefined : hash))) {
    const seen = out[name]
    if (seen === undefined) out[name] = value
    else if (Array.isArray(seen)) seen.push(value)
    else out[name] = [seen, value]
  }
  return out
}

/** The input of a part, as a fresh object the check may coerce in place. */
export function inputOf(ctx: SecurityContext, part: PartCheck): Record<string, unknown> {
  if (part.part === 'query') return queryOf(ctx)
  // The names of params and headers are the route's and the schema's, not the client's: a plain
  // object, which V8 keeps in fast mode (one without a prototype is a dictionary, and the schema's
  // loop over its keys then costs several times more), unless the schema names an inherited
  // property (`plain`). `__proto__` is defined, not assigned.
  const out: Record<string, unknown> = part.plain ? {} : Object.create(null)
  if (part.part === 'params') {
    const params = ctx.req.params
    const names = Object.keys(params)
    for (let i = 0; i < names.length; i++) put(out, names[i]!, params[names[i]!])
    return out
  }
  for (const name of part.names ?? []) {
    const value = ctx.req.header(name)
    if (value !== undefined) put(out, name, value)
  }
  return out
}

function put(out: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__')
    Object.defineProperty(out, name, { value, writable: true, enumerable: true, configurable: true })
  else out[name] = value
}

/** Runs a part's check and throws the 400 that lists its violations. */
export function checkPart(
  ctx: SecurityContext,
  compiler: SchemaCompiler,
  part: PartCheck,
  value: unknown,
): void {
  if (part.check(value)) return
  const violations = compiler.errorsOf(part.check)
  const errors: ValidationFieldError[] = fieldErrorsOf(violations, violations.length).map((e) => ({
    in: part.part,
    pointer: e.pointer,
    message: e.message,
    keyword: e.code ?? 'invalid',
  }))
  throw rejectedEvent(ctx, part.part, rejected(part.part, errors))
}

/** The 400 for a request without the body its schema requires. */
export const noBody = (ctx: SecurityContext): unknown =>
  rejectedEvent(
    ctx,
    'body',
    rejected('body', [
      { in: 'body', pointer: '', message: 'a JSON request body is required', keyword: 'required' },
    ]),
  )

/** Stores a validated part where handlers read it. */
export function store(
  ctx: SecurityContext,
  part: RequestPart,
  value: unknown,
  key?: StateKey<unknown>,
): void {
  let all = ctx.get(kValidated)
  if (all === undefined) {
    all = {}
    ctx.set(kValidated, all)
  }
  ;(all as Record<string, unknown>)[part] = value
  if (key !== undefined) ctx.set(key, value)
}

function sizeOption(value: unknown, name: string, where: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${where}: ${name} must be a positive integer, e.g. ${fallback}`)
  }
  return value
}

/** Reads the options every validator shares (validate(), openapi()) into compiler settings. */
export function compilerOptions(
  options: Pick<ValidateOptions, 'allErrors' | 'maxErrors' | 'removeAdditional' | 'useDefaults' | 'regExp'>,
  where: string,
) {
  const allErrors = booleanOption(options.allErrors, 'allErrors', where, false)
  if (options.regExp !== undefined && typeof options.regExp !== 'function') {
    throw new TypeError(
      `${where}: regExp must be a regular-expression engine (pattern, flags) => { test(s) }, e.g. re2js's`,
    )
  }
  return {
    allErrors,
    maxErrors: allErrors ? sizeOption(options.maxErrors, 'maxErrors', where, 10) : 1,
    removeAdditional: booleanOption(options.removeAdditional, 'removeAdditional', where, false),
    useDefaults: booleanOption(options.useDefaults, 'useDefaults', where, true),
    regExp: options.regExp,
  }
}

/**
 * Validates a request's path parameters, query, headers and JSON body with JSON Schemas
 * (2020-12, or draft-07 where `$schema` says so), compiled once at startup by ajv in strict mode
 * with formats on and `$data` off. A schema ajv refuses is a `TypeError` at startup naming the
 * part (and `name`).
 *
 * - Parameters, query and headers are checked first, coerced to the types their schema declares
 *   (`limit: integer` from `"10"`); then the body is read (through `jsonBody()`, unless `json:
 *   false`) and checked, never coerced. On Fastify that means the first three are checked
 *   before the body arrives.
 * - Unknown properties are refused (400), unless `removeAdditional` strips them; declared
 *   defaults are applied.
 * - A failure is a 400 `validation.rejected` whose `errors` say `in` (the part), `pointer`,
 *   `message` (it describes the schema, never echoes the value) and `keyword`; the first failure
 *   only unless `allErrors`.
 * - Handlers read the validated values through the adapter's `stateOf()` with the guard's typed
 *   keys (`notesCreate.body`) or {@link kValidated}; the body is also the framework's body
 *   (`req.body`, `ctx.request.body`, `request.body`), the same object.
 *
 * @example
 * ```ts
 * const createNote = validate({ body: { type: 'object', properties: { title: { type: 'string', maxLength: 200 } }, required: ['title'] } } as const)
 * app.post('/notes', guard(jwt(opts), createNote), (req, res) => res.json(stateOf(req, createNote.body)))
 * ```
 */
export function validate<const S extends ValidateOptions>(options: S): ValidateGuard<S> {
  const where = options?.name === undefined ? 'validate()' : `validate() of ${String(options.name)}`
  checkOptions<ValidateOptions>(
    options,
    where,
    OPTIONS,
    MISTAKES,
    "{ body: { type: 'object', properties: { ... } } }",
  )
  if (options.name !== undefined && typeof options.name !== 'string')
    throw new TypeError(`${where}: name must be a string`)
  const compiler = new SchemaCompiler(compilerOptions(options, where))
  const open = booleanOption(
    options.dangerouslyAllowUnknownProperties,
    'dangerouslyAllowUnknownProperties',
    where,
    false,
  )
  const parts = (['params', 'query', 'headers'] as const)
    .filter((p) => options[p] !== undefined)
    .map((p) => compilePart(compiler, p, options[p], where, open))
  if (parts.length === 0 && options.body === undefined) {
    throw new TypeError(`${where}: give at least one schema: params, query, headers or body`)
  }
  const keys = {
    params: createKey<unknown>('validate.params'),
    query: createKey<unknown>('validate.query'),
    headers: createKey<unknown>('validate.headers'),
    body: createKey<unknown>('validate.body'),
  }
  const settings = {
    parts: [...parts.map((p) => p.part), ...(options.body === undefined ? [] : ['body'])],
    allErrors: options.allErrors === true,
    removeAdditional: options.removeAdditional === true,
    unknownProperties: open ? 'allowed' : 'refused',
  }
  const guards: Guard[] = []
  if (parts.length > 0) {
    guards.push(
      defineGuard(
        (ctx) => {
          for (const part of parts) {
            const input = inputOf(ctx, part)
            checkPart(ctx, compiler, part, input)
            store(ctx, part.part, input, keys[part.part])
            // Where the framework lets a guard replace them, the handler reads the coerced values.
            if (part.part === 'params' || part.part === 'query') ctx.req.setInput?.(part.part, input)
          }
        },
        { guardName: 'validate', kind: 'validation', settings },
      ),
    )
  }
  if (options.body !== undefined) {
    const body = compilePart(compiler, 'body', options.body, where, open)
    if (options.json !== false) {
      const json = jsonBodySettings(options.json ?? {}, `${where}: json`)
      guards.push(
        defineGuard((ctx) => readJsonBody(ctx, json), {
          guardName: 'validate.jsonBody',
          readsRawBody: true,
          kind: 'validation',
          settings: { limit: json.limit, maxDepth: json.maxDepth, types: json.types },
        }),
      )
    }
    guards.push(
      defineGuard(
        (ctx) => {
          const parsed = ctx.get(kParsedBody)
          const value = parsed === undefined ? ctx.req.body : parsed.value
          if (value === undefined) throw noBody(ctx)
          checkPart(ctx, compiler, body, value)
          store(ctx, 'body', value, keys.body)
        },
        { guardName: 'validate.body', needsBody: true, kind: 'validation', settings },
      ),
    )
  }
  return Object.assign(compose(...guards), keys) as unknown as ValidateGuard<S>
}

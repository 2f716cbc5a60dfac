import { Ajv, type Options as AjvOptions, type ErrorObject, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import formatsModule from 'ajv-formats'
import type { JsonSchema } from './schema-type.js'

type FormatsPlugin = (ajv: Ajv) => Ajv
const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ??
  formatsModule) as unknown as FormatsPlugin

/**
 * A regular-expression engine for `pattern` and `patternProperties` (ajv's `code.regExp`): a
 * function of the pattern and its flags that returns something with `test()`, e.g. re2js's
 * `(p, f) => RE2JS.compile(p)` wrapped, or the native `re2` constructor.
 */
export type RegExpEngine = ((pattern: string, flags: string) => { test(input: string): boolean }) & {
  code?: string
}

/** How a part of the request is validated. */
export type Coercion = false | true | 'array'

/** The settings every schema of one validator is compiled with. */
export interface CompilerSettings {
  readonly allErrors: boolean
  readonly maxErrors: number
  readonly removeAdditional: boolean
  readonly useDefaults: boolean
  readonly regExp: RegExpEngine | undefined
  /** Keywords the schemas may carry beyond JSON Schema (OpenAPI's `example`, `xml`, ...). */
  readonly keywords?: readonly string[]
  /** Formats beyond ajv-formats' (OpenAPI's `int32`, `int64`, `float`, ...). */
  readonly formats?: Readonly<Record<string, FormatCheck>>
}

/** A format of a schema dialect: the type it applies to and its check. */
export interface FormatCheck {
  readonly type: 'number' | 'string'
  readonly validate: ((value: number) => boolean) | ((value: string) => boolean) | RegExp
}

/** A compiled schema: the value passes, or the violations (ajv's error objects). */
export type Check = ValidateFunction

const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-0[67]\/schema#?$/

/**
 * Compiles schemas once, at startup, with ajv in strict mode, formats on, `$data` off and
 * `allErrors` as configured. One ajv instance per dialect and coercion, made when first needed.
 */
export class SchemaCompiler {
  readonly #settings: CompilerSettings
  readonly #instances = new Map<string, Ajv>()

  constructor(settings: CompilerSettings) {
    this.#settings = settings
  }

  /** Whether patterns run on an engine given in the options (re2, re2js), assumed linear-time. */
  get linear(): boolean {
    return this.#settings.regExp !== undefined
  }

  #instance(draft07: boolean, coerce: Coercion): Ajv {
    const key = `${draft07}:${String(coerce)}`
    let ajv = this.#instances.get(key)
    if (ajv !== undefined) return ajv
    const s = this.#settings
    const options: AjvOptions = {
      strict: true,
      allErrors: s.allErrors,
      $data: false,
      coerceTypes: coerce,
      useDefaults: s.useDefaults,
      removeAdditional: s.removeAdditional,
      // ajv's own messages describe the schema; the value never appears in them.
      verbose: false,
      messages: true,
      code: s.regExp === undefined ? { source: false } : { source: false, regExp: s.regExp as never },
    }
    ajv = draft07 ? new Ajv(options) : (new Ajv2020(options) as unknown as Ajv)
    addFormats(ajv)
    if (s.keywords !== undefined && s.keywords.length > 0) ajv.addVocabulary([...s.keywords])
    for (const [name, format] of Object.entries(s.formats ?? {})) {
      ajv.addFormat(name, { type: format.type, validate: format.validate } as never)
    }
    this.#instances.set(key, ajv)
    return ajv
  }

  /**
   * Compiles `schema` (2020-12 unless its `$schema` says draft-07 or draft-06), refusing one
   * that ajv's strict mode refuses with a `TypeError` that names `where` and gives ajv's message.
   */
  compile(schema: JsonSchema, coerce: Coercion, where: string): Check {
    const draft07 =
      typeof schema === 'object' && typeof schema.$schema === 'string' && DRAFT_07.test(schema.$schema)
    try {
      return this.#instance(draft07, coerce).compile(schema as object)
    } catch (err) {
      throw new TypeError(`${where}: the schema is refused by ajv in strict mode: ${(err as Error).message}`)
    }
  }

  /** The violations of the last failed check, capped as configured. */
  errorsOf(check: Check): readonly ErrorObject[] {
    const errors = check.errors ?? []
    return errors.length > this.#settings.maxErrors ? errors.slice(0, this.#settings.maxErrors) : errors
  }
}

const COMPOSITIONS = ['allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else'] as const
const OPEN = ['additionalProperties', 'unevaluatedProperties', 'patternProperties'] as const
const SUBSCHEMA_MAPS = [
  'properties',
  '$defs',
  'definitions',
  'dependentSchemas',
  'patternProperties',
] as const
const SUBSCHEMAS = ['items', 'additionalItems', 'contains', 'propertyNames', 'additionalProperties'] as const

type SchemaObject = Record<string, unknown>
const isObject = (v: unknown): v is SchemaObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * A copy of `schema` in which every object schema with `properties` that says nothing about
 * other properties refuses them (`additionalProperties: false`): unknown properties (`isAdmin`,
 * `ownerId`) are refused by default instead of reaching the handler. Members of compositions
 * (`allOf`, `anyOf`, ...) are left as written, since closing one would refuse the properties of
 * the others; say `unevaluatedProperties: false` on the composition for them.
 */
export function closeObjects(schema: JsonSchema): JsonSchema {
  return close(schema, false) as JsonSchema
}

function close(schema: unknown, inComposition: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => close(s, inComposition))
  if (!isObject(schema)) return schema
  const out: SchemaObject = {}
  for (const [key, value] of Object.entries(schema)) {
    if ((COMPOSITIONS as readonly string[]).includes(key)) out[key] = close(value, true)
    else if ((SUBSCHEMA_MAPS as readonly string[]).includes(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, close(v, false)]))
    } else if ((SUBSCHEMAS as readonly string[]).includes(key) || key === 'prefixItems') {
      out[key] = close(value, false)
    } else out[key] = value
  }
  const hasComposition = COMPOSITIONS.some((k) => k in schema)
  if (!inComposition && !hasComposition && isObject(schema.properties) && !OPEN.some((k) => k in schema)) {
    out.additionalProperties = false
  }
  return out
}

/**
 * The location of the first `pattern` in a schema whose string has no `maxLength`, or
 * `undefined`: with JavaScript's backtracking engine such a pattern runs on input of any length
 * the body limit lets through.
 */
export function unboundedPattern(schema: unknown, at = ''): string | undefined {
  if (Array.isArray(schema)) {
    for (let i = 0; i < schema.length; i++) {
      const found = unboundedPattern(schema[i], `${at}/${i}`)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (!isObject(schema)) return undefined
  if (typeof schema.pattern === 'string' && typeof schema.maxLength !== 'number') return `${at}/pattern`
  for (const [key, value] of Object.entries(schema)) {
    if ((SUBSCHEMA_MAPS as readonly string[]).includes(key) && isObject(value)) {
      for (const [name, sub] of Object.entries(value)) {
        const found = unboundedPattern(sub, `${at}/${key}/${name}`)
        if (found !== undefined) return found
      }
    } else if (
      (COMPOSITIONS as readonly string[]).includes(key) ||
      (SUBSCHEMAS as readonly string[]).includes(key) ||
      key === 'prefixItems'
    ) {
      const found = unboundedPattern(value, `${at}/${key}`)
      if (found !== undefined) return found
    }
  }
  return undefined
}
